package io.queuepilot.worker.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.budget.TokenBudget.Reservation;
import io.queuepilot.queue.budget.TokenBudget;
import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.ProviderHalt;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.process.Extraction.DroppedEvent;
import io.queuepilot.worker.process.Extraction.UnreadPage;
import io.queuepilot.worker.process.ModelClient.ProviderUnusable;
import io.queuepilot.worker.process.PageImages.PageImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDResources;
import org.apache.pdfbox.rendering.PDFRenderer;
import org.apache.pdfbox.text.PDFTextStripper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extraction by an OpenAI model that reads every page or says which it did not. Pages are taken
 * in order: a page with a text layer goes as text, a page without one (or a scan carrying only
 * a stamp of text) as an image rendered at the size OpenAI keeps; raster files (PNG, JPEG, GIF,
 * every page of a TIFF) as images. Pages are packed into calls within the per-call text and
 * image limits, so a long document becomes several calls whose events are merged with their
 * pages. Each call reserves its tokens in the shared budget (OpenAI's published per-model image
 * rule, an upper bound for text) and settles the billed usage. {@code finish_reason: length}
 * splits the call or raises its output budget, never repeats it; each event is validated on its
 * own (a bad one is dropped and recorded); pages the model could not be made to read (content
 * filter, refusal, persistent invalid output, the per-document call limit) are listed as unread
 * and the extraction is partial. Provider errors that no retry fixes (quota, key,
 * configuration) halt the worker and release the job without spending an attempt.
 */
public final class OpenAiProcessor implements Processor {

  private static final Logger log = LoggerFactory.getLogger(OpenAiProcessor.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MODEL_ATTEMPTS = 2;
  /** Message framing, the reply priming and the json_schema OpenAI injects into the prompt. */
  private static final int PROMPT_OVERHEAD_TOKENS = 400;
  /** Text below this many characters on a page that also holds an image: the page is a scan with a stamp. */
  private static final int SCAN_STAMP_CHARS = 200;
  /** How long a released job waits when the key or configuration is refused (other replicas may take it). */
  private static final Duration HALTED_RELEASE_DELAY = Duration.ofSeconds(60);

  static final String SYSTEM_PROMPT =
      """
      You extract structured clinical events from medical document pages for a patient's health record.
      Return every medication, condition, allergy, observation (vital signs, lab results) and procedure
      the pages state as a fact about the patient. Do not infer or invent. Use null where the document
      does not say. event_date is as precise as the document: YYYY-MM-DD, YYYY-MM or YYYY, or null;
      confidence is 0..1; source_page is the page number given in the "=== Page N ===" heading the
      fact appears under. code/code_system only when the document gives a code (e.g. ICD-10,
      SNOMED CT, RxNorm, LOINC).""";

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

  /**
   * Limits of the processor: the model, text characters and images per call, the output cap of
   * one call, the most calls per document, the text stored per document, the source image cap,
   * the delay after a 429 without headers and how long quota exhaustion blocks the fleet.
   */
  public record Settings(String model, int maxCallChars, int maxImagesPerCall, int maxOutputTokens,
                         int maxCallsPerDocument, int maxStoredTextChars, long maxImageBytes,
                         Duration defaultRateLimitDelay, Duration quotaBlock) {}

  private final ModelClient model;
  private final TokenBudget budget;
  private final WorkerMetrics metrics;
  private final ProviderHalt halt;
  private final Settings settings;
  private final ModelCapabilities caps;

  public OpenAiProcessor(ModelClient model, TokenBudget budget, WorkerMetrics metrics, ProviderHalt halt, Settings settings) {
    this.model = model;
    this.budget = budget;
    this.metrics = metrics;
    this.halt = halt;
    this.settings = settings;
    this.caps = ModelCapabilities.of(settings.model());
  }

  public Settings settings() {
    return settings;
  }

  @Override
  public Extraction process(JobContext context, DocumentInput doc) throws Exception {
    DocumentKind kind = DocumentKind.of(doc);
    Run run = new Run(context, doc);
    switch (kind) {
      case PDF -> readPdf(run, doc);
      case TEXT -> {
        run.pagesTotal = 1;
        readPlain(run, doc);
      }
      case WEBP -> {
        run.pagesTotal = 1;
        run.addImage(PageImages.webpPassthrough(doc.file(), doc.size()));
      }
      default -> readRaster(run, doc);
    }
    run.flush();
    return run.result();
  }

  private void readPlain(Run run, DocumentInput doc) throws Exception {
    // line by line: lines go into calls as they come, never one huge string
    List<Exception> failure = new ArrayList<>(1);
    DocumentText.plain(doc, 0, (line, page) -> {
      if (failure.isEmpty()) {
        try {
          run.addText(1, line + "\n");
        } catch (Exception e) {
          failure.add(e);
        }
      }
    });
    if (!failure.isEmpty()) {
      throw failure.get(0);
    }
  }

  private void readPdf(Run run, DocumentInput doc) throws Exception {
    try (PDDocument pdf = DocumentText.open(doc)) {
      int pages = pdf.getNumberOfPages();
      run.pagesTotal = pages;
      PDFTextStripper stripper = new PDFTextStripper();
      stripper.setSortByPosition(true);
      PDFRenderer renderer = new PDFRenderer(pdf);
      for (int p = 1; p <= pages; p++) {
        run.context.checkCancelled();
        String text;
        try {
          stripper.setStartPage(p);
          stripper.setEndPage(p);
          text = stripper.getText(pdf);
        } catch (IOException | RuntimeException e) {
          log.warn("page {} text layer could not be read: {}", p, e.toString());
          text = "";
        }
        boolean hasText = !text.isBlank();
        boolean scanned = !hasText || (text.strip().length() < SCAN_STAMP_CHARS && hasImages(pdf, p - 1));
        if (hasText) {
          run.addText(p, text);
        }
        if (scanned) {
          try {
            run.addImage(PageImages.pdfPage(pdf, renderer, p - 1));
          } catch (IOException | RuntimeException e) {
            if (!hasText) {
              run.unread(p, "render_failed");
            }
            log.warn("page {} could not be rendered: {}", p, e.toString());
          }
        }
      }
      run.flush(); // while the PDF is still open
    }
  }

  private static boolean hasImages(PDDocument pdf, int index) {
    PDResources res = pdf.getPage(index).getResources();
    if (res == null) {
      return false;
    }
    for (COSName name : res.getXObjectNames()) {
      try {
        if (res.isImageXObject(name)) {
          return true;
        }
      } catch (RuntimeException e) {
        return true; // unreadable resources: render the page to be safe
      }
    }
    return false;
  }

  private void readRaster(Run run, DocumentInput doc) throws Exception {
    if (doc.size() > settings.maxImageBytes()) {
      throw JobFailure.permanent("image_too_large",
          "image of " + doc.size() + " bytes exceeds QUEUEPILOT_OPENAI_MAX_IMAGE_BYTES=" + settings.maxImageBytes(),
          Map.of("max_bytes", settings.maxImageBytes()));
    }
    int pages = PageImages.pageCount(doc.file());
    run.pagesTotal = pages;
    for (int i = 0; i < pages; i++) {
      run.context.checkCancelled();
      try {
        run.addImage(PageImages.raster(doc.file(), i));
      } catch (JobFailure f) {
        if (pages == 1) {
          throw f;
        }
        run.unread(i + 1, f.code());
      }
    }
  }

  /** One text or image part of a call, on one page. */
  private record Part(int page, String text, PageImage image) {}

  /** One document's extraction in progress: the pending call, what was read, events, dropped events, usage. */
  private final class Run {
    final JobContext context;
    final DocumentInput doc;
    int pagesTotal;
    final List<Part> pending = new ArrayList<>();
    int pendingChars;
    int pendingImages;
    final StringBuilder stored = new StringBuilder();
    long textChars;
    boolean truncated;
    final List<ClinicalEvent> events = new ArrayList<>();
    final List<DroppedEvent> dropped = new ArrayList<>();
    final TreeMap<Integer, String> unread = new TreeMap<>();
    long tokensUsed;
    long tokensReserved;
    int calls;
    String modelName;
    JobFailure firstFailure;

    Run(JobContext context, DocumentInput doc) {
      this.context = context;
      this.doc = doc;
    }

    void addText(int page, String text) throws Exception {
      textChars += text.length();
      int room = settings.maxStoredTextChars() - stored.length();
      if (room >= text.length()) {
        stored.append(text);
      } else {
        if (room > 0) {
          stored.append(text, 0, room);
        }
        truncated = true;
      }
      int at = 0;
      while (at < text.length()) {
        int free = settings.maxCallChars() - pendingChars;
        if (free <= 0) {
          flush();
          continue;
        }
        int end = Math.min(text.length(), at + free);
        if (end < text.length()) {
          int ws = text.lastIndexOf('\n', end);
          if (ws <= at) {
            ws = text.lastIndexOf(' ', end);
          }
          if (ws > at) {
            end = ws + 1;
          }
        }
        String piece = text.substring(at, end);
        Part last = pending.isEmpty() ? null : pending.get(pending.size() - 1);
        if (last != null && last.image() == null && last.page() == page) {
          pending.set(pending.size() - 1, new Part(page, last.text() + piece, null));
        } else {
          pending.add(new Part(page, piece, null));
        }
        pendingChars += piece.length();
        at = end;
      }
    }

    void addImage(PageImage image) throws Exception {
      if (pendingImages >= Math.max(1, settings.maxImagesPerCall())) {
        flush();
      }
      pending.add(new Part(image.page(), null, image));
      pendingImages++;
    }

    void unread(int page, String reason) {
      unread.putIfAbsent(page, reason);
    }

    void flush() throws Exception {
      if (pending.isEmpty()) {
        return;
      }
      List<Part> parts = List.copyOf(pending);
      pending.clear();
      pendingChars = 0;
      pendingImages = 0;
      callParts(parts, settings.maxOutputTokens());
    }

    /** Calls the model for these parts, splitting on finish_reason length, and records what was read. */
    void callParts(List<Part> parts, int outputTokens) throws Exception {
      if (calls >= settings.maxCallsPerDocument()) {
        markUnread(parts, "call_limit");
        return;
      }
      String prompt = prompt(parts);
      List<String> images = parts.stream().filter(p -> p.image() != null).map(p -> p.image().dataUrl()).toList();
      long estimate = estimate(prompt, parts, outputTokens);
      ModelClient.Request request = new ModelClient.Request(settings.model(), SYSTEM_PROMPT, prompt, images, outputTokens,
          "clinical_events", SCHEMA);
      JobFailure lastInvalid = null;
      for (int attempt = 1; attempt <= MODEL_ATTEMPTS; attempt++) {
        context.checkCancelled();
        ModelClient.Response response;
        try {
          response = call(context, request, estimate);
        } catch (CallTooLarge tooLarge) {
          if (parts.size() > 1) {
            split(parts, outputTokens);
            return;
          }
          throw tooLarge.failure;
        }
        calls++;
        tokensUsed += response.totalTokens();
        tokensReserved += estimate;
        modelName = response.model();
        String finish = response.finishReason() == null ? "stop" : response.finishReason();
        if ("length".equals(finish)) {
          // the answer was cut: fewer pages per call, or room for a longer answer; never the same call again
          if (parts.size() > 1) {
            log.info("answer cut at {} output tokens; splitting {} parts", outputTokens, parts.size());
            split(parts, outputTokens);
          } else if (outputTokens < caps.maxOutputTokens()) {
            callParts(parts, (int) Math.min(caps.maxOutputTokens(), outputTokens * 4L));
          } else if (parts.get(0).text() != null && parts.get(0).text().length() > 1) {
            String t = parts.get(0).text();
            int mid = t.length() / 2;
            callParts(List.of(new Part(parts.get(0).page(), t.substring(0, mid), null)), outputTokens);
            callParts(List.of(new Part(parts.get(0).page(), t.substring(mid), null)), outputTokens);
          } else {
            markUnread(parts, "output_too_long");
          }
          return;
        }
        if ("content_filter".equals(finish) || response.refusal() != null) {
          // isolate the page(s) the model will not read, read the rest
          if (pagesOf(parts).size() > 1) {
            split(parts, outputTokens);
          } else {
            markUnread(parts, "content_filter".equals(finish) ? "content_filter" : "model_refused");
          }
          return;
        }
        try {
          accept(parts, parse(response.content()));
          return;
        } catch (JobFailure invalid) {
          lastInvalid = invalid;
          log.warn("model output invalid (call {}/{}): {}", attempt, MODEL_ATTEMPTS, invalid.getMessage());
        }
      }
      if (firstFailure == null) {
        firstFailure = lastInvalid;
      }
      markUnread(parts, "invalid_model_output");
    }

    private Set<Integer> pagesOf(List<Part> parts) {
      Set<Integer> pages = new LinkedHashSet<>();
      parts.forEach(p -> pages.add(p.page()));
      return pages;
    }

    private void split(List<Part> parts, int outputTokens) throws Exception {
      int mid = parts.size() / 2;
      callParts(parts.subList(0, mid), outputTokens);
      callParts(parts.subList(mid, parts.size()), outputTokens);
    }

    /** Keeps the valid events of one call (with their pages), drops and records the others. */
    private void accept(List<Part> parts, JsonNode eventsArray) {
      Set<Integer> pages = new LinkedHashSet<>();
      parts.forEach(p -> pages.add(p.page()));
      int i = 0;
      for (JsonNode e : eventsArray) {
        int index = i++;
        Optional<ExtractionValidator.Problem> shape = shapeProblem(e);
        if (shape.isPresent()) {
          drop(index, shape.get().field(), shape.get().message(), e);
          continue;
        }
        ClinicalEvent ev = event(e);
        Integer page = ev.sourcePage();
        if (page == null && pages.size() == 1) {
          page = pages.iterator().next();
        }
        if (page != null && !pages.contains(page)) {
          drop(index, "source_page", "page " + page + " is not among the pages of this call " + pages, e);
          continue;
        }
        ev = new ClinicalEvent(ev.eventType(), ev.name(), ev.code(), ev.codeSystem(), ev.value(), ev.unit(), ev.eventDate(),
            ev.confidence(), page);
        Optional<ExtractionValidator.Problem> problem = ExtractionValidator.problem(ev);
        if (problem.isPresent()) {
          drop(index, problem.get().field(), problem.get().message(), e);
          continue;
        }
        events.add(ev);
      }
    }

    private void drop(int index, String field, String reason, JsonNode raw) {
      dropped.add(new DroppedEvent(calls, index, field, reason, raw));
      metrics.eventsDropped(field.isEmpty() ? "shape" : field, 1);
      log.warn("dropped event {} of call {}: {} {}", index, calls, field, reason);
    }

    private void markUnread(List<Part> parts, String reason) {
      parts.forEach(p -> unread(p.page(), reason));
    }

    Extraction result() throws JobFailure {
      int pagesRead = pagesTotal - unread.size();
      List<UnreadPage> unreadPages = unread.entrySet().stream().map(e -> new UnreadPage(e.getKey(), e.getValue())).toList();
      if (pagesTotal == 0) {
        throw JobFailure.permanent("no_content", "the document has no pages");
      }
      if (pagesRead <= 0) {
        String code = firstFailure != null ? firstFailure.code() : "no_page_read";
        String why = firstFailure != null ? firstFailure.getMessage() : "reasons " + unread.values();
        throw JobFailure.permanent(code, "no page of the document could be read: " + why,
            Map.of("pages_unread", unreadPages, "model_calls", calls, "tokens_used", tokensUsed));
      }
      if (events.isEmpty() && !dropped.isEmpty()) {
        throw JobFailure.permanent("invalid_model_output",
            "every event the model returned was invalid, nothing valid remains: events[" + dropped.get(0).index() + "]."
                + dropped.get(0).field() + " " + dropped.get(0).reason(),
            Map.of("events_dropped", dropped.size(), "tokens_used", tokensUsed));
      }
      unread.values().forEach(r -> metrics.pagesUnread(r, 1));
      return new Extraction(stored.toString(), pagesTotal, "openai", modelName == null ? settings.model() : modelName,
          List.copyOf(events), Math.toIntExact(tokensUsed), pagesRead, unreadPages, List.copyOf(dropped), truncated,
          textChars, calls, tokensReserved);
    }

    private String prompt(List<Part> parts) {
      StringBuilder b = new StringBuilder();
      b.append("Document: ").append(doc.filename() == null ? "(unnamed)" : doc.filename())
          .append(" (").append(pagesTotal).append(pagesTotal == 1 ? " page" : " pages").append(")\n");
      int image = 0;
      int lastTextPage = -1;
      for (Part p : parts) {
        if (p.image() != null) {
          image++;
          b.append("\n=== Page ").append(p.page()).append(" === (scanned: image ").append(image).append(" below)\n");
        } else {
          if (p.page() != lastTextPage) {
            b.append("\n=== Page ").append(p.page()).append(" ===\n");
          }
          b.append(p.text());
          lastTextPage = p.page();
        }
      }
      return b.toString();
    }
  }

  /** Upper bound of what one call is billed and counted: text, images by the model's rule, the output cap. */
  long estimate(String prompt, List<Part> parts, int outputTokens) {
    long images = 0;
    for (Part p : parts) {
      if (p.image() != null) {
        images += caps.imageTokens(p.image().width(), p.image().height());
      }
    }
    return textTokensUpperBound(SYSTEM_PROMPT) + textTokensUpperBound(prompt) + textTokensUpperBound(SCHEMA) + images
        + outputTokens + PROMPT_OVERHEAD_TOKENS;
  }

  /**
   * Tokens text can take at most: byte-level BPE never makes more tokens than UTF-8 bytes, and
   * ASCII English averages ~4 characters a token (OpenAI's rule of thumb); 3 keeps digits,
   * punctuation and codes covered.
   */
  public static long textTokensUpperBound(String s) {
    long ascii = 0;
    long other = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        ascii++;
      } else if (!Character.isLowSurrogate(c)) {
        other += String.valueOf(c).getBytes(StandardCharsets.UTF_8).length;
      }
    }
    return (ascii + 2) / 3 + other;
  }

  /** The budget said this one call can never fit a window. */
  private static final class CallTooLarge extends Exception {
    final JobFailure failure;

    CallTooLarge(JobFailure failure) {
      this.failure = failure;
    }
  }

  /** Reserve → call → settle, feeding 429s, quota, key and configuration errors into the budget and the halt. */
  private ModelClient.Response call(JobContext context, ModelClient.Request request, long estimate) throws Exception {
    Reservation r;
    try {
      r = budget.reserve(estimate, 1, context.job().id());
    } catch (JobQueueException e) {
      if (JobQueueException.INVALID_ARGUMENT.equals(e.sqlState()) && e.getCause() instanceof java.sql.SQLException sql) {
        throw new CallTooLarge(JobFailure.permanent("document_exceeds_token_budget",
            "one page needs ~" + estimate + " tokens, more than the shared budget allows per window: " + sql.getMessage(),
            Map.of("estimated_tokens", estimate)));
      }
      throw e;
    }
    if (r instanceof Reservation.Denied d) {
      Optional<String> reason = budget.blockedReason();
      if (reason.isPresent() && reason.get().startsWith("insufficient_quota")) {
        // another replica found the account out of quota: stop here too
        halt.halt(ProviderHalt.Reason.QUOTA, "insufficient_quota", reason.get(), d.retryAfter());
        throw JobFailure.providerHalted("openai_insufficient_quota", reason.get(), d.retryAfter());
      }
      metrics.budgetWait("token_budget");
      throw JobFailure.rateLimited("token_budget_exhausted",
          "the shared token budget has no room for " + estimate + " tokens now", d.retryAfter());
    }
    Reservation.Granted granted = (Reservation.Granted) r;
    ModelClient.Response response;
    try {
      response = model.complete(request);
    } catch (ModelClient.ModelRateLimited e) {
      Duration block = e.headers().blockAfter429(settings.defaultRateLimitDelay());
      settleQuietly(granted, 0); // a rejected request costs no tokens
      budget.block(block, "openai 429");
      metrics.budgetWait("openai_429");
      throw JobFailure.rateLimited("openai_rate_limited", e.getMessage(), block);
    } catch (ProviderUnusable e) {
      settleQuietly(granted, 0);
      throw halted(e);
    } catch (Exception | Error e) {
      settleQuietly(granted, estimate); // usage unknown: keep the estimate counted
      throw e;
    }
    budget.settle(granted, response.totalTokens());
    metrics.tokensUsed(response.model() == null ? settings.model() : response.model(), response.totalTokens());
    if (response.totalTokens() > estimate) {
      log.warn("call used {} tokens, more than its estimate {}", response.totalTokens(), estimate);
    }
    response.rateLimits().blockAfterSuccess(estimate).ifPresent(d -> {
      budget.block(d, "openai rate-limit headers");
      metrics.budgetWait("openai_headers");
    });
    return response;
  }

  /** Halts the worker (and, for quota, the whole fleet through the shared budget); the job goes back unspent. */
  public JobFailure halted(ProviderUnusable e) {
    String reason = e.kind().name().toLowerCase(java.util.Locale.ROOT);
    metrics.providerError(reason, e.code());
    switch (e.kind()) {
      case QUOTA -> {
        Duration block = settings.quotaBlock();
        try {
          budget.block(block, "insufficient_quota: " + e.getMessage());
        } catch (RuntimeException be) {
          log.warn("could not block the shared budget after insufficient_quota", be);
        }
        halt.halt(ProviderHalt.Reason.QUOTA, e.code(), e.getMessage(), block);
        return JobFailure.providerHalted("openai_insufficient_quota", e.getMessage(), block);
      }
      case AUTH -> {
        halt.halt(ProviderHalt.Reason.AUTH, e.code(), e.getMessage(), null);
        return JobFailure.providerHalted("openai_unauthorized", e.getMessage(), HALTED_RELEASE_DELAY);
      }
      default -> {
        halt.halt(ProviderHalt.Reason.CONFIG, e.code(), e.getMessage(), null);
        return JobFailure.providerHalted("openai_configuration_rejected", e.getMessage(), HALTED_RELEASE_DELAY);
      }
    }
  }

  private void settleQuietly(Reservation.Granted r, long tokens) {
    try {
      budget.settle(r, tokens);
    } catch (RuntimeException e) {
      log.warn("could not settle token reservation {}; it expires on its own", r.id(), e);
    }
  }

  /** The structured output's events array; output that is not that JSON shape is a permanent failure. */
  static JsonNode parse(String content) throws JobFailure {
    if (content == null || content.isBlank()) {
      throw JobFailure.permanent("invalid_model_output", "the model returned no content");
    }
    JsonNode root;
    try {
      root = JSON.readTree(content);
    } catch (IOException e) {
      throw JobFailure.permanent("invalid_model_output", "the model output is not valid JSON: "
          + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    JsonNode events = root == null ? null : root.get("events");
    if (events == null || !events.isArray()) {
      throw JobFailure.permanent("invalid_model_output", "the model output has no 'events' array");
    }
    return events;
  }

  /** What keeps one answer element from being an event: not an object, a required field missing, wrong types. */
  static Optional<ExtractionValidator.Problem> shapeProblem(JsonNode e) {
    if (!e.isObject()) {
      return Optional.of(new ExtractionValidator.Problem("", "is not an object"));
    }
    for (String f : List.of("event_type", "name", "confidence")) {
      if (!e.hasNonNull(f)) {
        return Optional.of(new ExtractionValidator.Problem(f, "misses required field '" + f + "'"));
      }
    }
    if (!e.get("confidence").isNumber()) {
      return Optional.of(new ExtractionValidator.Problem("confidence", "is not a number"));
    }
    JsonNode page = e.get("source_page");
    if (page != null && !page.isNull() && !page.canConvertToInt()) {
      return Optional.of(new ExtractionValidator.Problem("source_page", "is not an integer"));
    }
    return Optional.empty();
  }

  /** The event of a well-shaped answer element. */
  static ClinicalEvent event(JsonNode e) {
    JsonNode page = e.get("source_page");
    return new ClinicalEvent(text(e, "event_type"), text(e, "name"), text(e, "code"), text(e, "code_system"),
        text(e, "value"), text(e, "unit"), text(e, "event_date"), e.get("confidence").asDouble(),
        page == null || page.isNull() ? null : page.asInt());
  }

  private static String text(JsonNode e, String f) {
    JsonNode v = e.get(f);
    return v == null || v.isNull() ? null : v.asText();
  }
}
