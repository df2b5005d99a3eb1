package io.queuepilot.worker.fakes;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;

/** Builds real test documents: PDFs with a text layer (one list of lines per page), blank PDFs, a PNG. */
public final class Documents {

  private Documents() {}

  public static byte[] pdf(List<List<String>> pages) throws IOException {
    return Corpus.pdf(pages, null);
  }

  /** A minimal valid 1x1 PNG. */
  public static byte[] png() throws IOException {
    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    javax.imageio.ImageIO.write(img, "png", out);
    return out.toByteArray();
  }
}
