package io.queuepilot.worker.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.budget.TokenBudget;
import io.queuepilot.worker.budget.TokenBudget.Reservation;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.rendering.PDFRenderer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extraction by an OpenAI model: PDFs and plain text are sent as extracted text, images through
 * vision, and PDFs without a text layer as page images rendered by PDFBox. Every call first
 * reserves its estimated tokens in the shared budget and settles the real usage afterwards; a
 * 429 or exhausted rate-limit headers block the budget and release the job. The structured
 * output (strict JSON schema) is validated before write-back; invalid output is asked for once
 * more, then the job is dead-lettered.
 */
public final class OpenAiProcessor implements Processor {

  private static final Logger log = LoggerFactory.getLogger(OpenAiProcessor.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MODEL_ATTEMPTS = 2;
  /** Vision cost of one image at high detail is at most ~1,105 tokens; round up. */
  private static final int TOKENS_PER_IMAGE = 1200;
  private static final int PROMPT_OVERHEAD_TOKENS = 400;

  static final String SYSTEM_PROMPT =
      """
      You extract structured clinical events from one medical document for a patient's health record.
      Return every medication, condition, allergy, observation (vital signs, lab results) and procedure
      the document states as a fact about the patient. Do not infer or invent. Use null where the
      document does not say. event_date is an ISO date (YYYY-MM-DD) or null; confidence is 0..1;
      source_page is the 1-based page or null. code/code_system only when the document gives a code
      (e.g. ICD-10, SNOMED CT, RxNorm, LOINC).""";

  static final String SCHEMA =
      """
      {"type":"object","additionalProperties":false,"required":["events"],
       "properties":{"events":{"type":"array","items":{"type":"object","additionalProperties":false,
         "required":["event_type","name","code","code_system","value","unit","event_date","confidence","source_page"],
         "properties":{
           "event_type":{"type":"string","enum":["medication","condition","allergy","observation","procedure"]},
           "name":{"type":"string"},
           "code":{"type":["string","null"]},
           "code_system":{"type":["string","null"]},
           "value":{"type":["string","null"]},
           "unit":{"type":["string","null"]},
           "event_date":{"type":["string","null"]},
           "confidence":{"type":"number"},
           "source_page":{"type":["integer","null"]}}}}}}""";

  private final ModelClient model;
  private final TokenBudget budget;
  private final WorkerMetrics metrics;
  private final String modelName;
  private final int maxTextChars;
  private final int maxOutputTokens;
  private final int maxPageImages;
  private final long maxImageBytes;
  private final Duration defaultRateLimitDelay;

  public OpenAiProcessor(ModelClient model, TokenBudget budget, WorkerMetrics metrics, String modelName, int maxTextChars,
      int maxOutputTokens, int maxPageImages, long maxImageBytes, Duration defaultRateLimitDelay) {
    this.model = model;
    this.budget = budget;
    this.metrics = metrics;
    this.modelName = modelName;
    this.maxTextChars = maxTextChars;
    this.maxOutputTokens = maxOutputTokens;
    this.maxPageImages = maxPageImages;
    this.maxImageBytes = maxImageBytes;
    this.defaultRateLimitDelay = defaultRateLimitDelay;
  }

  @Override
  public Extraction process(JobContext context, DocumentInput doc) throws Exception {
    DocumentKind kind = DocumentKind.of(doc);
    String text = "";
    int pages = 1;
    List<String> images = new ArrayList<>();
    switch (kind) {
      case PDF -> {
        DocumentText.Result r = DocumentText.pdf(doc, maxTextChars, (line, page) -> { });
        text = r.text();
        pages = r.pageCount();
        if (text.isBlank()) {
          images.addAll(renderPages(doc, pages));
        }
      }
      case TEXT -> text = DocumentText.plain(doc, maxTextChars, (line, page) -> { }).text();
      default -> images.add(imageDataUrl(doc, kind));
    }
    if (text.isBlank() && images.isEmpty()) {
      throw JobFailure.permanent("no_content", "the document has neither text nor renderable pages");
    }
    context.checkCancelled();
    String prompt = "Document: " + (doc.filename() == null ? "(unnamed)" : doc.filename()) + "\nPages: " + pages + "\n\n"
        + (text.isBlank() ? "(no text layer; see the page images)" : text);
    ModelClient.Request request =
        new ModelClient.Request(modelName, SYSTEM_PROMPT, prompt, images, maxOutputTokens, "clinical_events", SCHEMA);
    long estimate = estimateTokens(SYSTEM_PROMPT.length() + prompt.length(), images.size(), maxOutputTokens);

    long tokensUsed = 0;
    JobFailure lastInvalid = null;
    for (int attempt = 1; attempt <= MODEL_ATTEMPTS; attempt++) {
      context.checkCancelled();
      ModelClient.Response response = call(context, request, estimate);
      tokensUsed += response.totalTokens();
      try {
        List<ClinicalEvent> events = parse(response.content());
        Extraction ex = new Extraction(text, pages, "openai", response.model(), events, Math.toIntExact(tokensUsed));
        ExtractionValidator.validate(ex, "invalid_model_output");
        return ex;
      } catch (JobFailure invalid) {
        lastInvalid = invalid;
        log.warn("model output invalid (call {}/{}): {}", attempt, MODEL_ATTEMPTS, invalid.getMessage());
      }
    }
    throw JobFailure.permanent(lastInvalid.code(),
        "model output still invalid after " + MODEL_ATTEMPTS + " calls: " + lastInvalid.getMessage(),
        Map.of("tokens_used", tokensUsed));
  }

  /** Reserve → call → settle, feeding 429s and rate-limit headers into the shared budget. */
  private ModelClient.Response call(JobContext context, ModelClient.Request request, long estimate) throws Exception {
    Reservation r;
    try {
      r = budget.reserve(estimate, 1, context.job().id());
    } catch (io.queuepilot.worker.budget.PostgresTokenBudget.BudgetException e) {
      if (e.getCause() instanceof java.sql.SQLException sql && "22023".equals(sql.getSQLState())) {
        // larger than a whole window: waiting can never help
        throw JobFailure.permanent("document_exceeds_token_budget",
            "the call needs ~" + estimate + " tokens, more than the shared budget allows per window: " + sql.getMessage(),
            Map.of("estimated_tokens", estimate));
      }
      throw e;
    }
    if (r instanceof Reservation.Denied d) {
      metrics.budgetWait("token_budget");
      throw JobFailure.rateLimited("token_budget_exhausted",
          "the shared token budget has no room for " + estimate + " tokens now", d.retryAfter());
    }
    Reservation.Granted granted = (Reservation.Granted) r;
    ModelClient.Response response;
    try {
      response = model.complete(request);
    } catch (ModelClient.ModelRateLimited e) {
      Duration block = e.headers().blockAfter429(defaultRateLimitDelay);
      settleQuietly(granted, 0); // a rejected request costs no tokens
      budget.block(block, "openai 429");
      metrics.budgetWait("openai_429");
      throw JobFailure.rateLimited("openai_rate_limited", e.getMessage(), block);
    } catch (Exception | Error e) {
      settleQuietly(granted, estimate); // usage unknown: keep the estimate counted
      throw e;
    }
    budget.settle(granted, response.totalTokens());
    metrics.tokensUsed(response.model() == null ? modelName : response.model(), response.totalTokens());
    if (response.totalTokens() > estimate) {
      log.warn("call used {} tokens, more than its estimate {}", response.totalTokens(), estimate);
    }
    response.rateLimits().blockAfterSuccess(estimate).ifPresent(d -> {
      budget.block(d, "openai rate-limit headers");
      metrics.budgetWait("openai_headers");
    });
    return response;
  }

  private void settleQuietly(Reservation.Granted r, long tokens) {
    try {
      budget.settle(r, tokens);
    } catch (RuntimeException e) {
      log.warn("could not settle token reservation {}; it expires on its own", r.id(), e);
    }
  }

  /** Upper bound of a call's tokens: ~3 characters per token, images at high detail, the full output cap. */
  public static long estimateTokens(long promptChars, int images, int maxOutputTokens) {
    return (promptChars + 2) / 3 + (long) images * TOKENS_PER_IMAGE + maxOutputTokens + PROMPT_OVERHEAD_TOKENS;
  }

  /** Parses the structured output; anything not matching the schema is a permanent failure. */
  static List<ClinicalEvent> parse(String content) throws JobFailure {
    if (content == null || content.isBlank()) {
      throw JobFailure.permanent("invalid_model_output", "the model returned no content");
    }
    JsonNode root;
    try {
      root = JSON.readTree(content);
    } catch (IOException e) {
      throw JobFailure.permanent("invalid_model_output", "the model output is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    JsonNode events = root == null ? null : root.get("events");
    if (events == null || !events.isArray()) {
      throw JobFailure.permanent("invalid_model_output", "the model output has no 'events' array");
    }
    List<ClinicalEvent> out = new ArrayList<>();
    int i = 0;
    for (JsonNode e : events) {
      String where = "events[" + i++ + "]";
      if (!e.isObject()) {
        throw JobFailure.permanent("invalid_model_output", where + " is not an object");
      }
      for (String f : List.of("event_type", "name", "confidence")) {
        if (!e.hasNonNull(f)) {
          throw JobFailure.permanent("invalid_model_output", where + " misses required field '" + f + "'",
              Map.of("field", where + "." + f));
        }
      }
      if (!e.get("confidence").isNumber()) {
        throw JobFailure.permanent("invalid_model_output", where + ".confidence is not a number");
      }
      JsonNode page = e.get("source_page");
      if (page != null && !page.isNull() && !page.canConvertToInt()) {
        throw JobFailure.permanent("invalid_model_output", where + ".source_page is not an integer");
      }
      out.add(new ClinicalEvent(text(e, "event_type"), text(e, "name"), text(e, "code"), text(e, "code_system"),
          text(e, "value"), text(e, "unit"), text(e, "event_date"), e.get("confidence").asDouble(),
          page == null || page.isNull() ? null : page.asInt()));
    }
    return out;
  }

  private static String text(JsonNode e, String f) {
    JsonNode v = e.get(f);
    return v == null || v.isNull() ? null : v.asText();
  }

  private String imageDataUrl(DocumentInput doc, DocumentKind kind) throws IOException, JobFailure {
    if (doc.size() > maxImageBytes) {
      throw JobFailure.permanent("image_too_large",
          "image of " + doc.size() + " bytes exceeds QUEUEPILOT_OPENAI_MAX_IMAGE_BYTES=" + maxImageBytes,
          Map.of("max_bytes", maxImageBytes));
    }
    return "data:" + kind.mime() + ";base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(doc.file()));
  }

  private List<String> renderPages(DocumentInput doc, int pages) throws IOException, JobFailure {
    List<String> out = new ArrayList<>();
    try (PDDocument pdf = Loader.loadPDF(doc.file().toFile(), "", IOUtils.createTempFileOnlyStreamCache())) {
      PDFRenderer renderer = new PDFRenderer(pdf);
      for (int p = 0; p < Math.min(pages, maxPageImages); p++) {
        BufferedImage img = renderer.renderImageWithDPI(p, 100);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        if (png.size() > maxImageBytes) {
          throw JobFailure.permanent("image_too_large", "page " + (p + 1) + " renders larger than the image cap");
        }
        out.add("data:image/png;base64," + Base64.getEncoder().encodeToString(png.toByteArray()));
      }
    } catch (IOException e) {
      throw JobFailure.permanent("corrupt_pdf", "the PDF's pages could not be rendered: " + e.getMessage());
    }
    return out;
  }
}
