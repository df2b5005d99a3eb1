package io.queuepilot.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The phases the reliability scenarios switch {@link FakeOpenAi} through, and what the
 * benchmark reads back, over real HTTP: OpenAI's 429 with its headers, requests left hanging
 * until the phase ends, malformed requests counted, and the limiter's token count.
 */
class FakeOpenAiModesTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String KEY = "sk-modes";

  private static HttpRequest chat(FakeOpenAi fake, String text, boolean strictSchema) {
    String format = strictSchema
        ? "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"events\",\"strict\":true,\"schema\":{\"type\":\"object\"}}}"
        : "{\"type\":\"json_object\"}";
    String body = "{\"model\":\"gpt-4o-mini\",\"max_completion_tokens\":300,\"response_format\":" + format
        + ",\"messages\":[{\"role\":\"system\",\"content\":\"extract\"},{\"role\":\"user\",\"content\":"
        + JSON.valueToTree(text) + "}]}";
    return HttpRequest.newBuilder(URI.create(fake.baseUrl() + "/chat/completions"))
        .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  @Test
  void aRateLimitedPhaseAnswersOpenAisFourTwentyNineWithRetryAfter() throws Exception {
    try (FakeOpenAi fake = new FakeOpenAi(KEY, 1).resetMillis(1000).retryAfterSeconds(1)) {
      fake.mode(FakeOpenAi.Mode.RATE_LIMITED);
      HttpResponse<String> r = HTTP.send(chat(fake, "- Aspirin 81 mg", true), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(429);
      assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("rate_limit_exceeded");
      assertThat(r.headers().firstValue("retry-after")).hasValue("1");
      assertThat(r.headers().firstValue("x-ratelimit-reset-requests")).hasValue("1000ms");
      assertThat(r.headers().firstValue("x-request-id")).isPresent();

      fake.mode(FakeOpenAi.Mode.NORMAL);
      HttpResponse<String> ok = HTTP.send(chat(fake, "- Aspirin 81 mg", true), HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).isEqualTo(200);
      JsonNode content = JSON.readTree(JSON.readTree(ok.body()).path("choices").path(0).path("message").path("content").asText());
      assertThat(content.path("events").path(0).path("name").asText()).isEqualTo("Aspirin");
      assertThat(fake.rateLimited()).isEqualTo(1);
      assertThat(fake.ok()).isEqualTo(1);
      assertThat(fake.malformedRequests()).isZero();
      long limiterTokens = fake.calls().stream().mapToLong(FakeOpenAi.Call::rateLimitTokens).sum();
      assertThat(limiterTokens).as("only the answered call counts against the limiter").isPositive();
      assertThat(fake.maxTokensInWindow(Duration.ofMinutes(1).toNanos())).isEqualTo(limiterTokens);
    }
  }

  @Test
  void aHangingPhaseHoldsRequestsUntilItEnds() throws Exception {
    try (FakeOpenAi fake = new FakeOpenAi(KEY, 1)) {
      fake.mode(FakeOpenAi.Mode.HANG);
      CompletableFuture<HttpResponse<String>> hung =
          HTTP.sendAsync(chat(fake, "- Aspirin 81 mg", true), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> fake.hung() == 1);
      assertThat(hung).as("no answer while the phase lasts").isNotDone();
      fake.mode(FakeOpenAi.Mode.NORMAL);
      // the connection is closed without an answer: the client sees it end, with an error
      assertThat(hung).failsWithin(Duration.ofSeconds(10));
      assertThat(fake.ok()).isZero();
    }
  }

  @Test
  void requestsThatAreNotStrictStructuredOutputsAreCountedAsMalformed() throws Exception {
    try (FakeOpenAi fake = new FakeOpenAi(KEY, 1)) {
      HttpResponse<String> r = HTTP.send(chat(fake, "- Aspirin 81 mg", false), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(JSON.readTree(r.body()).path("error").path("type").asText()).isEqualTo("invalid_request_error");
      assertThat(fake.malformedRequests()).isEqualTo(1);
    }
  }
}
