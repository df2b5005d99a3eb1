package io.queuepilot.worker.budget;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI's rate-limit response headers ({@code x-ratelimit-remaining-requests/-tokens},
 * {@code x-ratelimit-reset-requests/-tokens} like "1s", "6m0s", "250ms", and {@code retry-after})
 * and the pure decision of how long the shared budget must block because of them.
 */
public record RateLimitHeaders(
    OptionalLong remainingRequests,
    OptionalLong remainingTokens,
    Optional<Duration> resetRequests,
    Optional<Duration> resetTokens,
    Optional<Duration> retryAfter) {

  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

  /** Parses headers given as name → values (names case-insensitive). */
  public static RateLimitHeaders parse(Map<String, List<String>> headers) {
    java.util.TreeMap<String, List<String>> h = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    Optional<Duration> retryAfter =
        first(h, "retry-after-ms").flatMap(v -> parseLong(v).stream().boxed().findFirst()).map(Duration::ofMillis)
            .or(() -> first(h, "retry-after").flatMap(RateLimitHeaders::seconds));
    return new RateLimitHeaders(
        first(h, "x-ratelimit-remaining-requests").map(RateLimitHeaders::parseLong).orElse(OptionalLong.empty()),
        first(h, "x-ratelimit-remaining-tokens").map(RateLimitHeaders::parseLong).orElse(OptionalLong.empty()),
        first(h, "x-ratelimit-reset-requests").flatMap(RateLimitHeaders::duration),
        first(h, "x-ratelimit-reset-tokens").flatMap(RateLimitHeaders::duration),
        retryAfter);
  }

  /**
   * How long to block the budget after a successful call: until the request window resets when no
   * request is left, until the token window resets when fewer tokens are left than the next call
   * may need. Empty when there is room.
   */
  public Optional<Duration> blockAfterSuccess(long nextCallTokens) {
    if (remainingRequests.isPresent() && remainingRequests.getAsLong() <= 0) {
      return Optional.of(resetRequests.orElse(Duration.ofSeconds(1)));
    }
    if (remainingTokens.isPresent() && remainingTokens.getAsLong() < nextCallTokens) {
      return Optional.of(resetTokens.orElse(Duration.ofSeconds(1)));
    }
    return Optional.empty();
  }

  /** How long to block after a 429: retry-after, else the longer relevant reset, else the default. */
  public Duration blockAfter429(Duration fallback) {
    if (retryAfter.isPresent()) {
      return retryAfter.get();
    }
    Duration d = Duration.ZERO;
    if (remainingRequests.isPresent() && remainingRequests.getAsLong() <= 0 && resetRequests.isPresent()) {
      d = max(d, resetRequests.get());
    }
    if (remainingTokens.isPresent() && remainingTokens.getAsLong() <= 0 && resetTokens.isPresent()) {
      d = max(d, resetTokens.get());
    }
    if (d.isZero()) {
      d = max(resetRequests.orElse(Duration.ZERO), resetTokens.orElse(Duration.ZERO));
    }
    return d.isZero() ? fallback : d;
  }

  /** Parses OpenAI's reset durations: "1s", "6m0s", "250ms", "1h2m3.5s", or plain seconds. */
  public static Optional<Duration> duration(String raw) {
    String v = raw.trim().toLowerCase(Locale.ROOT);
    if (v.matches("\\d+(\\.\\d+)?")) {
      return seconds(v);
    }
    Matcher m = PART.matcher(v);
    long millis = 0;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) {
        return Optional.empty();
      }
      end = m.end();
      double n = Double.parseDouble(m.group(1));
      millis += (long) switch (m.group(2)) {
        case "h" -> n * 3_600_000;
        case "m" -> n * 60_000;
        case "s" -> n * 1000;
        default -> n;
      };
    }
    return end == v.length() && end > 0 ? Optional.of(Duration.ofMillis(millis)) : Optional.empty();
  }

  private static Optional<Duration> seconds(String v) {
    try {
      return Optional.of(Duration.ofMillis(Math.round(Double.parseDouble(v.trim()) * 1000)));
    } catch (NumberFormatException e) {
      return Optional.empty(); // an HTTP date in retry-after: use the other headers
    }
  }

  private static OptionalLong parseLong(String v) {
    try {
      return OptionalLong.of(Long.parseLong(v.trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private static Optional<String> first(Map<String, List<String>> h, String name) {
    List<String> v = h.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
