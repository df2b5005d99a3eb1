package io.queuepilot.worker.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.azure.AzureOpenAIServiceVersion;
import com.openai.azure.AzureUrlPathMode;
import com.openai.azure.credential.AzureApiKeyCredential;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.OpenAIIoException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.models.ModelRetrieveParams;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.budget.RateLimitHeaders;
import io.queuepilot.worker.process.ModelClient.ProviderUnusable.Kind;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@link ModelClient} over openai-java's chat completions, for three endpoint kinds: OpenAI
 * itself ({@code /v1/chat/completions}, {@code Authorization: Bearer}), any OpenAI-compatible
 * base URL (same wire format, e.g. a BAA-covered gateway or a self-hosted vLLM), and Azure OpenAI
 * ({@code /openai/deployments/{deployment}/chat/completions?api-version=…}, {@code api-key}
 * header). Text and image content parts (detail high, so billing is determinate),
 * {@code response_format: json_schema} (strict), no {@code temperature} for reasoning models, no
 * client-side retries (the queue and the shared budget decide when to try again); usage,
 * finish_reason and {@code x-ratelimit-*} headers handed back. Errors are mapped by OpenAI's
 * documented error codes (platform.openai.com/docs/guides/error-codes).
 */
public final class OpenAiModelClient implements ModelClient, AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Which wire format the endpoint speaks. */
  public enum Endpoint { OPENAI, COMPATIBLE, AZURE }

  private final OpenAIClient client;
  private final Endpoint endpoint;
  private final ModelCapabilities capabilities;
  /** The model name sent in requests: the Azure deployment, else the model. */
  private final String requestModel;

  /** An OpenAI client for {@code model} (tests and the default endpoint). */
  public OpenAiModelClient(String baseUrl, String apiKey, Duration timeout) {
    this(Endpoint.OPENAI, baseUrl, apiKey, timeout, null, null, null);
  }

  /**
   * @param model the underlying model (capabilities); null = decided per request
   * @param azureDeployment the deployment name (Azure only)
   * @param azureApiVersion the api-version query parameter (Azure only)
   */
  public OpenAiModelClient(Endpoint endpoint, String baseUrl, String apiKey, Duration timeout, String model,
      String azureDeployment, String azureApiVersion) {
    this.endpoint = endpoint;
    this.capabilities = model == null ? null : ModelCapabilities.of(model);
    this.requestModel = endpoint == Endpoint.AZURE ? azureDeployment : model;
    OpenAIOkHttpClient.Builder b = OpenAIOkHttpClient.builder().baseUrl(baseUrl).timeout(timeout).maxRetries(0);
    if (endpoint == Endpoint.AZURE) {
      b.credential(AzureApiKeyCredential.create(apiKey))
          .azureServiceVersion(AzureOpenAIServiceVersion.fromString(azureApiVersion))
          .azureUrlPathMode(AzureUrlPathMode.LEGACY);
    } else {
      b.apiKey(apiKey);
    }
    this.client = b.build();
  }

  @Override
  public void checkReady(String model) throws ProviderUnusable, JobFailure {
    if (endpoint != Endpoint.OPENAI) {
      return; // Azure and compatible servers have no common free probe; their first call tells
    }
    try {
      client.models().retrieve(ModelRetrieveParams.builder().model(model).build());
    } catch (OpenAIServiceException e) {
      ProviderUnusable unusable = unusable(e);
      if (unusable != null) {
        throw unusable;
      }
      if (e.statusCode() == 404 && "model_not_found".equals(field(e::code))) {
        throw new ProviderUnusable(Kind.CONFIG, "model_not_found", 404,
            "the provider does not know model '" + model + "': " + e.getMessage());
      }
      // a 404 without OpenAI's model_not_found (a gateway without /models): the first call tells
      throw JobFailure.retryable("model_unavailable", "checking the model failed: HTTP " + e.statusCode(), e);
    } catch (OpenAIIoException e) {
      throw JobFailure.retryable("model_io_error", "checking the model failed: " + e.getMessage(), e);
    }
  }

  @Override
  public Response complete(Request request)
      throws JobFailure, ModelRateLimited, ProviderUnusable, InterruptedException {
    ModelCapabilities caps = capabilities != null ? capabilities : ModelCapabilities.of(request.model());
    List<ChatCompletionContentPart> parts = new ArrayList<>();
    parts.add(ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text(request.text()).build()));
    for (String url : request.imageDataUrls()) {
      parts.add(ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url)
              .detail(ChatCompletionContentPartImage.ImageUrl.Detail.HIGH).build()).build()));
    }
    ChatCompletionCreateParams params;
    try {
      JsonNode schema = JSON.readTree(request.schemaJson());
      ResponseFormatJsonSchema.JsonSchema.Schema.Builder sb = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
      schema.properties().forEach(e -> sb.putAdditionalProperty(e.getKey(), JsonValue.fromJsonNode(e.getValue())));
      ChatCompletionCreateParams.Builder pb = ChatCompletionCreateParams.builder()
          .model(requestModel != null ? requestModel : request.model())
          .addSystemMessage(request.systemPrompt())
          .addUserMessageOfArrayOfContentParts(parts)
          .maxCompletionTokens((long) request.maxOutputTokens())
          .responseFormat(ResponseFormatJsonSchema.builder()
              .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                  .name(request.schemaName()).strict(true).schema(sb.build()).build())
              .build());
      if (caps.acceptsTemperature()) {
        pb.temperature(0.0); // reasoning models reject any temperature but the default
      }
      params = pb.build();
    } catch (IOException e) {
      throw new IllegalStateException("the extraction schema is not valid JSON", e);
    }
    try (HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(params)) {
      RateLimitHeaders limits = RateLimitHeaders.parse(map(raw.headers()));
      ChatCompletion completion = raw.parse();
      if (completion.choices().isEmpty()) {
        throw JobFailure.retryable("model_malformed_response", "the model answered without choices", null);
      }
      ChatCompletion.Choice choice = completion.choices().get(0);
      long prompt = completion.usage().map(u -> u.promptTokens()).orElse(0L);
      long out = completion.usage().map(u -> u.completionTokens()).orElse(0L);
      long total = completion.usage().map(u -> u.totalTokens()).orElse(prompt + out);
      return new Response(choice.message().content().orElse(null), choice.message().refusal().orElse(null),
          choice.finishReason().asString(), prompt, out, total, completion.model(), limits);
    } catch (OpenAIServiceException e) {
      ProviderUnusable unusable = unusable(e);
      if (unusable != null) {
        throw unusable;
      }
      int status = e.statusCode();
      if (status == 429) {
        throw new ModelRateLimited("OpenAI answered 429 " + field(e::code) + ": " + e.getMessage(),
            RateLimitHeaders.parse(map(e.headers())));
      }
      if (status >= 500 || status == 408 || status == 409) {
        throw JobFailure.retryable("model_unavailable", "OpenAI answered HTTP " + status + ": " + e.getMessage(), e);
      }
      throw JobFailure.permanent("model_rejected_request", "OpenAI answered HTTP " + status + ": " + e.getMessage(),
          Map.of("http_status", status, "openai_code", field(e::code)));
    } catch (OpenAIIoException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("model call interrupted");
      }
      throw JobFailure.retryable("model_io_error", "calling OpenAI failed: " + e.getMessage(), e);
    } catch (com.openai.errors.OpenAIInvalidDataException e) {
      throw JobFailure.retryable("model_malformed_response", "OpenAI's response could not be parsed: " + e.getMessage(), e);
    }
  }

  /**
   * The errors no retry of a job can fix, by OpenAI's documented meaning: 429 with type or code
   * {@code insufficient_quota} ("You exceeded your current quota, please check your plan and
   * billing details"), 401 (invalid key / organization), 403 (no access: region, project, model
   * permission), 400 {@code unsupported_parameter} / {@code unsupported_value} (a parameter the
   * model does not take, e.g. temperature on o1/o3/gpt-5). Null for every other error.
   */
  static ProviderUnusable unusable(OpenAIServiceException e) {
    int status = e.statusCode();
    String code = field(e::code);
    String type = field(e::type);
    String message = e.getMessage();
    if (status == 429 && ("insufficient_quota".equals(code) || "insufficient_quota".equals(type))) {
      return new ProviderUnusable(Kind.QUOTA, "insufficient_quota", status,
          "OpenAI says the account is out of quota or billing: " + message);
    }
    if (status == 401 || status == 403) {
      return new ProviderUnusable(Kind.AUTH, code.isEmpty() ? "http_" + status : code, status,
          "OpenAI rejected the API key or its access (HTTP " + status + (code.isEmpty() ? "" : ", " + code) + "): " + message);
    }
    if (status == 400 && ("unsupported_parameter".equals(code) || "unsupported_value".equals(code))) {
      Optional<String> param = Optional.of(field(e::param)).filter(p -> !p.isEmpty());
      return new ProviderUnusable(Kind.CONFIG, code, status,
          "the model rejects the request's parameter " + param.orElse("?") + " (" + code + "): " + message);
    }
    return null;
  }

  /** A field of the error body; Azure's bodies lack some ({"error":{"code","message"}}), which openai-java reports by throwing. */
  private static String field(java.util.function.Supplier<Optional<String>> f) {
    try {
      return f.get().orElse("");
    } catch (com.openai.errors.OpenAIInvalidDataException e) {
      return "";
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
