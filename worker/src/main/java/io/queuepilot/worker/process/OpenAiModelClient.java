package io.queuepilot.worker.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.OpenAIIoException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.budget.RateLimitHeaders;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ModelClient} over openai-java's chat completions: text and image content parts,
 * {@code response_format: json_schema} (strict), no client-side retries (the queue and the shared
 * budget decide when to try again), usage and {@code x-ratelimit-*} headers handed back.
 */
public final class OpenAiModelClient implements ModelClient, AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final OpenAIClient client;

  public OpenAiModelClient(String baseUrl, String apiKey, Duration timeout) {
    this.client = OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey(apiKey).timeout(timeout).maxRetries(0).build();
  }

  @Override
  public Response complete(Request request) throws JobFailure, ModelRateLimited, InterruptedException {
    List<ChatCompletionContentPart> parts = new ArrayList<>();
    parts.add(ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text(request.text()).build()));
    for (String url : request.imageDataUrls()) {
      parts.add(ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url).build()).build()));
    }
    ChatCompletionCreateParams params;
    try {
      JsonNode schema = JSON.readTree(request.schemaJson());
      ResponseFormatJsonSchema.JsonSchema.Schema.Builder sb = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
      schema.properties().forEach(e -> sb.putAdditionalProperty(e.getKey(), JsonValue.fromJsonNode(e.getValue())));
      params = ChatCompletionCreateParams.builder()
          .model(request.model())
          .addSystemMessage(request.systemPrompt())
          .addUserMessageOfArrayOfContentParts(parts)
          .maxCompletionTokens((long) request.maxOutputTokens())
          .temperature(0.0)
          .responseFormat(ResponseFormatJsonSchema.builder()
              .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                  .name(request.schemaName()).strict(true).schema(sb.build()).build())
              .build())
          .build();
    } catch (IOException e) {
      throw new IllegalStateException("the extraction schema is not valid JSON", e);
    }
    try (HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(params)) {
      RateLimitHeaders limits = RateLimitHeaders.parse(map(raw.headers()));
      ChatCompletion completion = raw.parse();
      if (completion.choices().isEmpty()) {
        throw JobFailure.permanent("invalid_model_output", "the model answered without choices");
      }
      ChatCompletion.Choice choice = completion.choices().get(0);
      String content = choice.message().content().orElse(null);
      if (choice.message().refusal().isPresent()) {
        throw JobFailure.permanent("model_refused", "the model refused: " + choice.message().refusal().get());
      }
      long prompt = completion.usage().map(u -> u.promptTokens()).orElse(0L);
      long out = completion.usage().map(u -> u.completionTokens()).orElse(0L);
      long total = completion.usage().map(u -> u.totalTokens()).orElse(prompt + out);
      return new Response(content, prompt, out, total, completion.model(), limits);
    } catch (RateLimitException e) {
      throw new ModelRateLimited("OpenAI answered 429: " + e.getMessage(), RateLimitHeaders.parse(map(e.headers())));
    } catch (OpenAIServiceException e) {
      int status = e.statusCode();
      if (status >= 500 || status == 408 || status == 409) {
        throw JobFailure.retryable("model_unavailable", "OpenAI answered HTTP " + status + ": " + e.getMessage(), e);
      }
      if (status == 401 || status == 403) {
        throw JobFailure.retryable("model_unauthorized", "OpenAI rejected the API key (HTTP " + status + ")", e);
      }
      throw JobFailure.permanent("model_rejected_request", "OpenAI answered HTTP " + status + ": " + e.getMessage(),
          Map.of("http_status", status));
    } catch (OpenAIIoException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("model call interrupted");
      }
      throw JobFailure.retryable("model_io_error", "calling OpenAI failed: " + e.getMessage(), e);
    } catch (com.openai.errors.OpenAIInvalidDataException e) {
      throw JobFailure.retryable("model_malformed_response", "OpenAI's response could not be parsed: " + e.getMessage(), e);
    }
  }

  private static Map<String, List<String>> map(Headers headers) {
    Map<String, List<String>> m = new HashMap<>();
    for (String name : headers.names()) {
      m.put(name, headers.values(name));
    }
    return m;
  }

  @Override
  public void close() {
    client.close();
  }
}
