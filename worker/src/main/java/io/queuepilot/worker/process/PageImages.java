package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.rendering.ImageType;
import org.apache.pdfbox.rendering.PDFRenderer;

/**
 * Images for vision with bounded heap: pages are decoded with source subsampling (ImageIO reads
 * the file as a stream; the decoded raster is at most ~4x the target), scaled to the size OpenAI
 * itself keeps at detail high (fit 2048 x 2048, shortest side 768 px — sending more pixels only
 * costs bytes, the model never sees them) and re-encoded as JPEG. So a 20 MB photo becomes a
 * ~0.2 MB data URL, and the exact billed image tokens are known before the call. Multi-page TIFF
 * (ImageIO's TIFF reader, Java 9+) yields one image per page; PDF pages are rendered at the
 * resolution that gives the target size.
 */
public final class PageImages {

  /** Decoded images above this many pixels are refused (decompression bombs). */
  static final long MAX_SOURCE_PIXELS = 300_000_000L;
  /** WebP has no ImageIO reader here: it is sent as uploaded, up to this size. */
  static final long MAX_PASSTHROUGH_BYTES = 4L << 20;

  /** One image ready for a content part: its data URL and the pixel size the provider bills. */
  public record PageImage(int page, String dataUrl, int width, int height) {}

  private PageImages() {}

  /** Target size at detail high for a {@code w x h} source. */
  static int[] target(double w, double h) {
    double s = 1;
    if (w > ModelCapabilities.FIT || h > ModelCapabilities.FIT) {
      s = ModelCapabilities.FIT / Math.max(w, h);
    }
    if (Math.min(w, h) * s > ModelCapabilities.SHORT_SIDE) {
      s *= ModelCapabilities.SHORT_SIDE / (Math.min(w, h) * s);
    }
    return new int[] {Math.max(1, (int) Math.floor(w * s)), Math.max(1, (int) Math.floor(h * s))};
  }

  /** Number of pages (frames) of a raster file: TIFF may hold many, the others one. */
  public static int pageCount(Path file) throws IOException, JobFailure {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      ImageReader reader = reader(in);
      try {
        reader.setInput(in, false, true);
        return reader.getNumImages(true);
      } finally {
        reader.dispose();
      }
    }
  }

  /** Decodes page {@code index} (0-based) of a raster file, scaled for vision. */
  public static PageImage raster(Path file, int index) throws IOException, JobFailure {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      ImageReader reader = reader(in);
      try {
        reader.setInput(in, false, true);
        int w = reader.getWidth(index);
        int h = reader.getHeight(index);
        if ((long) w * h > MAX_SOURCE_PIXELS) {
          throw JobFailure.permanent("image_too_large",
              "page " + (index + 1) + " is " + w + " x " + h + " pixels, above " + MAX_SOURCE_PIXELS + " pixels",
              Map.of("page", index + 1));
        }
        int[] t = target(w, h);
        ImageReadParam param = reader.getDefaultReadParam();
        int sub = Math.max(1, Math.min(w / t[0], h / t[1]));
        param.setSourceSubsampling(sub, sub, 0, 0);
        BufferedImage decoded = reader.read(index, param);
        return encode(index + 1, decoded, t[0], t[1]);
      } finally {
        reader.dispose();
      }
    } catch (javax.imageio.IIOException e) {
      throw JobFailure.permanent("corrupt_image", "the image could not be decoded: " + e.getMessage(),
          Map.of("page", index + 1));
    }
  }

  /** Renders PDF page {@code index} (0-based) at the resolution that gives OpenAI's detail-high size. */
  public static PageImage pdfPage(PDDocument pdf, PDFRenderer renderer, int index) throws IOException {
    PDPage page = pdf.getPage(index);
    float wPt = page.getCropBox().getWidth();
    float hPt = page.getCropBox().getHeight();
    int rotation = page.getRotation();
    if (rotation == 90 || rotation == 270) {
      float x = wPt;
      wPt = hPt;
      hPt = x;
    }
    int[] t = target(wPt, hPt);
    float scale = (float) t[0] / Math.max(1f, wPt);
    BufferedImage img = renderer.renderImage(index, scale, ImageType.RGB);
    return encode(index + 1, img, t[0], t[1]);
  }

  /** A WebP sent unchanged: dimensions from its RIFF header (VP8, VP8L or VP8X chunk). */
  public static PageImage webpPassthrough(Path file, long size) throws IOException, JobFailure {
    if (size > MAX_PASSTHROUGH_BYTES) {
      throw JobFailure.permanent("image_too_large",
          "WebP images are sent as uploaded and may be at most " + MAX_PASSTHROUGH_BYTES + " bytes; this one has " + size
              + " (convert it to JPEG or PNG)", Map.of("max_bytes", MAX_PASSTHROUGH_BYTES));
    }
    byte[] bytes = Files.readAllBytes(file);
    int[] wh = webpSize(bytes);
    return new PageImage(1, "data:image/webp;base64," + Base64.getEncoder().encodeToString(bytes), wh[0], wh[1]);
  }

  static int[] webpSize(byte[] b) throws JobFailure {
    if (b.length >= 30 && b[12] == 'V' && b[13] == 'P' && b[14] == '8') {
      if (b[15] == ' ') { // lossy: 14-bit width/height after the start code
        return new int[] {u16(b, 26) & 0x3FFF, u16(b, 28) & 0x3FFF};
      }
      if (b[15] == 'L') { // lossless: 14-bit width-1 / height-1 packed after the signature byte
        int bits = (b[21] & 0xFF) | (b[22] & 0xFF) << 8 | (b[23] & 0xFF) << 16 | (b[24] & 0xFF) << 24;
        return new int[] {(bits & 0x3FFF) + 1, ((bits >>> 14) & 0x3FFF) + 1};
      }
      if (b[15] == 'X') { // extended: 24-bit canvas width-1 / height-1
        return new int[] {u24(b, 24) + 1, u24(b, 27) + 1};
      }
    }
    throw JobFailure.permanent("corrupt_image", "the WebP header carries no image size");
  }

  private static int u16(byte[] b, int i) {
    return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
  }

  private static int u24(byte[] b, int i) {
    return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16;
  }

  private static ImageReader reader(ImageInputStream in) throws JobFailure {
    if (in == null) {
      throw JobFailure.permanent("corrupt_image", "the image could not be opened");
    }
    Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
    if (!readers.hasNext()) {
      throw JobFailure.permanent("corrupt_image", "no decoder recognises the image's format");
    }
    return readers.next();
  }

  private static PageImage encode(int page, BufferedImage src, int w, int h) throws IOException {
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, w, h);
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(src, 0, 0, w, h, null);
    } finally {
      g.dispose();
    }
    src.flush();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 * 1024);
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(ios);
      ImageWriteParam p = writer.getDefaultWriteParam();
      p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      p.setCompressionQuality(0.9f);
      writer.write(null, new IIOImage(out, null, null), p);
    } finally {
      writer.dispose();
    }
    return new PageImage(page, "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(bytes.toByteArray()), w, h);
  }

  /** True when the first bytes are a TIFF header (II*\0 or MM\0*). */
  static boolean isTiff(byte[] h) {
    return h.length >= 4 && ((h[0] == 'I' && h[1] == 'I' && h[2] == 42 && h[3] == 0)
        || (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && h[3] == 42));
  }
}
