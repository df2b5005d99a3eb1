package io.queuepilot.worker.process;

import java.util.Locale;

/**
 * What a chat model accepts and how OpenAI bills its image inputs, decided from the model name
 * before the first job: reasoning models (o1, o3, o4, gpt-5) reject {@code temperature} and take
 * {@code max_completion_tokens}; each model family has its own published image-token rule.
 *
 * <p>Image rules, from OpenAI's "Images and vision" guide, section "Calculating costs"
 * (platform.openai.com/docs/guides/images-vision#calculating-costs; the same table is reproduced
 * by the pictoken package's description on PyPI, which notes that "GPT-4o mini uses more tokens
 * per image" so that its dollar price per image equals GPT-4o's):
 * <ul>
 *   <li>tile models, detail high: scale to fit 2048 x 2048, then so the shortest side is 768 px,
 *       count 512 px tiles; tokens = base + tile x tiles; detail low: base only. Base / tile:
 *       gpt-4o, gpt-4.1, gpt-4.5 85 / 170; gpt-4o-mini 2833 / 5667; o1, o3 75 / 150; gpt-5 70 / 140;</li>
 *   <li>patch models (gpt-4.1-mini, gpt-4.1-nano, o4-mini, gpt-5-mini, gpt-5-nano): 32 px patches,
 *       at most 1536 (the image is scaled down to fit), times a multiplier 1.62 / 2.46 / 1.72.</li>
 * </ul>
 * An unknown model (an OpenAI-compatible or Azure deployment of something else) is billed by
 * the most expensive known rule, so a reservation stays an upper bound.
 */
public record ModelCapabilities(
    String model, boolean reasoning, boolean knownImageRule, int imageBase, int imageTile, double patchMultiplier,
    int maxOutputTokens) {

  /** Longest side OpenAI keeps for detail high, and the shortest side it scales to. */
  public static final int FIT = 2048;
  public static final int SHORT_SIDE = 768;

  public static ModelCapabilities of(String model) {
    String m = model.toLowerCase(Locale.ROOT).replaceFirst("^ft:", ""); // fine-tunes: ft:gpt-4o-mini-2024-07-18:org::id
    boolean reasoning = m.matches("^(o1|o3|o4|gpt-5)([-.].*)?$");
    if (m.startsWith("gpt-4o-mini")) {
      return new ModelCapabilities(model, false, true, 2833, 5667, 0, 16_384);
    }
    if (m.startsWith("gpt-4.1-mini")) {
      return new ModelCapabilities(model, false, true, 0, 0, 1.62, 32_768);
    }
    if (m.startsWith("gpt-4.1-nano")) {
      return new ModelCapabilities(model, false, true, 0, 0, 2.46, 32_768);
    }
    if (m.startsWith("o4-mini")) {
      return new ModelCapabilities(model, true, true, 0, 0, 1.72, 100_000);
    }
    if (m.startsWith("gpt-5-mini")) {
      return new ModelCapabilities(model, true, true, 0, 0, 1.62, 128_000);
    }
    if (m.startsWith("gpt-5-nano")) {
      return new ModelCapabilities(model, true, true, 0, 0, 2.46, 128_000);
    }
    if (m.startsWith("gpt-4o") || m.startsWith("gpt-4.1") || m.startsWith("gpt-4.5")) {
      return new ModelCapabilities(model, false, true, 85, 170, 0, 16_384);
    }
    if (m.startsWith("o1") || m.startsWith("o3")) {
      return new ModelCapabilities(model, true, true, 75, 150, 0, 100_000);
    }
    if (m.startsWith("gpt-5")) {
      return new ModelCapabilities(model, true, true, 70, 140, 0, 128_000);
    }
    // unknown: the costliest rule known (gpt-4o-mini's tiles), the smallest output cap
    return new ModelCapabilities(model, reasoning, false, 2833, 5667, 0, 16_384);
  }

  /** Whether the request may carry {@code temperature} (reasoning models reject it). */
  public boolean acceptsTemperature() {
    return !reasoning;
  }

  /** Prompt tokens OpenAI bills for one image of {@code width x height} pixels sent at detail high. */
  public long imageTokens(int width, int height) {
    if (patchMultiplier > 0) {
      return (long) Math.ceil(patches(width, height) * patchMultiplier);
    }
    return imageBase + (long) imageTile * tiles(width, height);
  }

  /** 512 px tiles of an image after OpenAI's detail-high resizing. */
  public static int tiles(int width, int height) {
    double w = width;
    double h = height;
    if (w > FIT || h > FIT) {
      double s = FIT / Math.max(w, h);
      w = Math.floor(w * s);
      h = Math.floor(h * s);
    }
    if (Math.min(w, h) > SHORT_SIDE) {
      double s = SHORT_SIDE / Math.min(w, h);
      w = Math.floor(w * s);
      h = Math.floor(h * s);
    }
    return (int) (Math.ceil(w / 512) * Math.ceil(h / 512));
  }

  /** 32 px patches covering the image, scaled down to at most 1536 patches. */
  public static long patches(int width, int height) {
    long raw = ceilDiv(width, 32) * ceilDiv(height, 32);
    if (raw <= 1536) {
      return raw;
    }
    double shrink = Math.sqrt(1536.0 * 32 * 32 / ((double) width * height));
    double w = width * shrink;
    double h = height * shrink;
    // fit the patch grid exactly: scale so whole patches cover the width
    double wp = w / 32;
    double fit = Math.floor(wp) / wp;
    w *= fit;
    h *= fit;
    return Math.min(1536, ceilDiv((long) Math.ceil(w), 32) * ceilDiv((long) Math.ceil(h), 32));
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
