package io.queuepilot.worker.budget;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Parsing OpenAI's rate-limit headers and the blocking decisions made from them. */
class RateLimitHeadersTest {

  @Test
  void parsesOpenAiDurations() {
    assertThat(RateLimitHeaders.duration("1s")).contains(Duration.ofSeconds(1));
    assertThat(RateLimitHeaders.duration("6m0s")).contains(Duration.ofMinutes(6));
    assertThat(RateLimitHeaders.duration("250ms")).contains(Duration.ofMillis(250));
    assertThat(RateLimitHeaders.duration("1h2m3.5s")).contains(Duration.ofMillis(3_723_500));
    assertThat(RateLimitHeaders.duration("20")).contains(Duration.ofSeconds(20));
    assertThat(RateLimitHeaders.duration("soon")).isEmpty();
  }

  @Test
  void blocksAfterSuccessOnlyWhenTheNextCallCannotFit() {
    RateLimitHeaders roomy = RateLimitHeaders.parse(Map.of(
        "x-ratelimit-remaining-requests", List.of("10"), "x-ratelimit-remaining-tokens", List.of("50000"),
        "x-ratelimit-reset-tokens", List.of("2s")));
    assertThat(roomy.blockAfterSuccess(1000)).isEmpty();
    assertThat(roomy.blockAfterSuccess(60_000)).contains(Duration.ofSeconds(2));
    RateLimitHeaders noRequests = RateLimitHeaders.parse(Map.of(
        "X-RateLimit-Remaining-Requests", List.of("0"), "X-RateLimit-Reset-Requests", List.of("120ms")));
    assertThat(noRequests.blockAfterSuccess(1)).contains(Duration.ofMillis(120));
  }

  @Test
  void a429WaitsForRetryAfterOrTheExhaustedLimitsReset() {
    assertThat(RateLimitHeaders.parse(Map.of("retry-after", List.of("3"))).blockAfter429(Duration.ofSeconds(10)))
        .isEqualTo(Duration.ofSeconds(3));
    assertThat(RateLimitHeaders.parse(Map.of("retry-after-ms", List.of("450"))).blockAfter429(Duration.ofSeconds(10)))
        .isEqualTo(Duration.ofMillis(450));
    assertThat(RateLimitHeaders.parse(Map.of(
            "x-ratelimit-remaining-requests", List.of("0"), "x-ratelimit-reset-requests", List.of("300ms"),
            "x-ratelimit-remaining-tokens", List.of("9000"), "x-ratelimit-reset-tokens", List.of("6m0s")))
        .blockAfter429(Duration.ofSeconds(10))).isEqualTo(Duration.ofMillis(300));
    assertThat(RateLimitHeaders.parse(Map.of()).blockAfter429(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(10));
  }
}
