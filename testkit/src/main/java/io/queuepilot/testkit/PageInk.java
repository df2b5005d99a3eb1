package io.queuepilot.testkit;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What stands on a scanned test page, in a form the OpenAI fake's "vision" can read back after
 * the worker has rendered, scaled and JPEG-compressed the page: a grid of large black and white
 * cells carrying the page's text as UTF-8 (16-bit length, the bytes, an 8-bit checksum). It
 * plays the part of the printed words a real model would read; nothing of it is in any text
 * layer, so a page reaches the fake only if the worker sent its image.
 */
public final class PageInk {

  static final int COLS = 40;
  static final int ROWS = 48;
  private static final double MARGIN = 0.05;

  private PageInk() {}

  /** Bytes a page can carry. */
  public static int capacity() {
    return COLS * ROWS / 8 - 3;
  }

  /** Paints {@code text} onto a white page of {@code w x h} pixels (over whatever {@code base} holds, if given). */
  public static BufferedImage paint(BufferedImage base, int w, int h, String text) {
    byte[] data = text.getBytes(StandardCharsets.UTF_8);
    if (data.length > capacity()) {
      throw new IllegalArgumentException("page text of " + data.length + " bytes exceeds " + capacity());
    }
    byte[] framed = new byte[data.length + 3];
    framed[0] = (byte) (data.length >>> 8);
    framed[1] = (byte) data.length;
    System.arraycopy(data, 0, framed, 2, data.length);
    framed[framed.length - 1] = checksum(data);
    BufferedImage img = base != null ? base : new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      if (base == null) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
      }
      double x0 = w * MARGIN;
      double y0 = h * MARGIN;
      double cw = w * (1 - 2 * MARGIN) / COLS;
      double ch = h * (1 - 2 * MARGIN) / ROWS;
      for (int bit = 0; bit < COLS * ROWS; bit++) {
        int b = bit / 8;
        boolean one = b < framed.length && (framed[b] >>> (7 - bit % 8) & 1) == 1;
        g.setColor(one ? Color.BLACK : Color.WHITE);
        int c = bit % COLS;
        int r = bit / COLS;
        g.fillRect((int) Math.floor(x0 + c * cw), (int) Math.floor(y0 + r * ch), (int) Math.ceil(cw), (int) Math.ceil(ch));
      }
    } finally {
      g.dispose();
    }
    return img;
  }

  /** A white page carrying {@code text}. */
  public static BufferedImage page(int w, int h, String text) {
    return paint(null, w, h, text);
  }

  /** Reads the text a page carries; empty when the cells do not decode (no grid, or it was destroyed). */
  public static Optional<String> read(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    double x0 = w * MARGIN;
    double y0 = h * MARGIN;
    double cw = w * (1 - 2 * MARGIN) / COLS;
    double ch = h * (1 - 2 * MARGIN) / ROWS;
    byte[] bytes = new byte[COLS * ROWS / 8];
    for (int bit = 0; bit < COLS * ROWS; bit++) {
      int c = bit % COLS;
      int r = bit / COLS;
      double cx = x0 + (c + 0.5) * cw;
      double cy = y0 + (r + 0.5) * ch;
      long sum = 0;
      int n = 0;
      for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
          int x = (int) Math.min(w - 1, Math.max(0, cx + dx * cw / 5));
          int y = (int) Math.min(h - 1, Math.max(0, cy + dy * ch / 5));
          int rgb = img.getRGB(x, y);
          sum += ((rgb >> 16) & 0xFF) + ((rgb >> 8) & 0xFF) + (rgb & 0xFF);
          n++;
        }
      }
      if (sum / (3.0 * n) < 128) {
        bytes[bit / 8] |= (byte) (1 << (7 - bit % 8));
      }
    }
    int len = (bytes[0] & 0xFF) << 8 | (bytes[1] & 0xFF);
    if (len > capacity()) {
      return Optional.empty();
    }
    byte[] data = new byte[len];
    System.arraycopy(bytes, 2, data, 0, len);
    if (bytes[2 + len] != checksum(data)) {
      return Optional.empty();
    }
    return Optional.of(new String(data, StandardCharsets.UTF_8));
  }

  private static byte checksum(byte[] data) {
    int s = 0x5A;
    for (byte b : data) {
      s = (s * 31 + (b & 0xFF)) & 0xFF;
    }
    return (byte) s;
  }
}
