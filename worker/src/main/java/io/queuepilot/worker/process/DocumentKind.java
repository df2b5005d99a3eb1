package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The document types the worker understands, decided from the declared mime type and checked
 * against the file's first bytes, so a mislabeled or corrupt upload fails clearly.
 */
public enum DocumentKind {
  PDF("application/pdf"),
  TEXT("text/plain"),
  PNG("image/png"),
  JPEG("image/jpeg"),
  WEBP("image/webp"),
  GIF("image/gif"),
  /** Fax and scanner output, often several pages: read with ImageIO's TIFF reader (Java 9+). */
  TIFF("image/tiff");

  /**
   * Exactly the MIME types this worker processes; sql/V060 constrains
   * upload_settings.allowed_mime_types to this set (HEIC is refused at upload: no maintained
   * decoder is available to the JVM here).
   */
  public static final java.util.List<String> ACCEPTED_MIME_TYPES = java.util.List.of(
      "application/pdf", "text/plain", "text/markdown", "text/csv", "image/png", "image/jpeg", "image/jpg",
      "image/webp", "image/gif", "image/tiff");

  private final String mime;

  DocumentKind(String mime) {
    this.mime = mime;
  }

  public String mime() {
    return mime;
  }

  public boolean isImage() {
    return this == PNG || this == JPEG || this == WEBP || this == GIF || this == TIFF;
  }

  /** Kind of the document: declared mime type, confirmed by magic bytes; permanent failure otherwise. */
  public static DocumentKind of(DocumentInput doc) throws JobFailure, IOException {
    if (doc.size() == 0) {
      throw JobFailure.permanent("empty_document", "the document is empty (0 bytes)");
    }
    String declared = doc.mimeType() == null ? "" : doc.mimeType().toLowerCase(Locale.ROOT).split(";")[0].trim();
    DocumentKind kind =
        switch (declared) {
          case "application/pdf" -> PDF;
          case "text/plain", "text/markdown", "text/csv" -> TEXT;
          case "image/png" -> PNG;
          case "image/jpeg", "image/jpg" -> JPEG;
          case "image/webp" -> WEBP;
          case "image/gif" -> GIF;
          case "image/tiff", "image/tif" -> TIFF;
          case "image/heic", "image/heif" ->
              throw JobFailure.permanent(
                  "unsupported_mime_type",
                  "HEIC/HEIF images cannot be decoded by this worker; upload the photo as JPEG"
                      + " (iPhone: Settings > Camera > Formats > Most Compatible)",
                  Map.of("mime_type", String.valueOf(doc.mimeType())));
          default ->
              throw JobFailure.permanent(
                  "unsupported_mime_type",
                  "mime type '" + doc.mimeType() + "' is not supported (pdf, plain text, png, jpeg, webp, gif, tiff)",
                  Map.of("mime_type", String.valueOf(doc.mimeType())));
        };
    byte[] head = head(doc.file());
    if (!kind.matches(head)) {
      throw JobFailure.permanent(
          kind == PDF ? "corrupt_pdf" : "mime_type_mismatch",
          "the file's content does not look like " + declared + " (first bytes do not match)",
          Map.of("mime_type", declared));
    }
    return kind;
  }

  private boolean matches(byte[] h) {
    return switch (this) {
      case PDF -> startsWith(h, "%PDF-".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      case PNG -> startsWith(h, new byte[] {(byte) 0x89, 'P', 'N', 'G'});
      case JPEG -> startsWith(h, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF});
      case GIF -> startsWith(h, "GIF8".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      case WEBP -> h.length >= 12 && startsWith(h, "RIFF".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
          && h[8] == 'W' && h[9] == 'E' && h[10] == 'B' && h[11] == 'P';
      case TIFF -> PageImages.isTiff(h);
      case TEXT -> !binary(h);
    };
  }

  private static boolean binary(byte[] h) {
    for (byte b : h) {
      if (b == 0) {
        return true;
      }
    }
    return false;
  }

  private static boolean startsWith(byte[] h, byte[] prefix) {
    if (h.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (h[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static byte[] head(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return in.readNBytes(1024);
    }
  }
}
