package io.queuepilot.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.writeback.WriteBack;
import io.queuepilot.worker.process.DocumentInput;
import io.queuepilot.worker.process.Extraction;
import io.queuepilot.worker.process.ExtractionValidator;
import io.queuepilot.worker.process.Processor;
import io.queuepilot.worker.store.DocumentRef;
import io.queuepilot.worker.store.DocumentStore;
import io.queuepilot.worker.store.FetchedDocument;
import java.io.IOException;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code document_extraction} job: reads the payload's references, streams the document from
 * the store to a temp file (always deleted), runs the processor, validates the extraction and
 * writes it back through {@code write_back_extraction}, which also completes the job.
 */
public final class DocumentJobHandler implements JobHandler {

  private static final Logger log = LoggerFactory.getLogger(DocumentJobHandler.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final DocumentStore store;
  private final Processor processor;
  private final WriteBack writeBack;

  public DocumentJobHandler(DocumentStore store, Processor processor, WriteBack writeBack) {
    this.store = store;
    this.processor = processor;
    this.writeBack = writeBack;
  }

  /** The payload register_shell_file enqueues (references only). */
  public record Payload(UUID shellFileId, String bucket, String storagePath, String filename, String mimeType, Long sizeBytes) {}

  @Override
  public void handle(JobContext context) throws Exception {
    ClaimedJob job = context.job();
    Payload p = parse(job);
    try (FetchedDocument doc = store.fetch(new DocumentRef(p.bucket(), p.storagePath()))) {
      // Ids only: the storage path and file name are patient-chosen text (PHI, and a newline in
      // them would forge log lines).
      log.info("document of shell file {} fetched: {} bytes", p.shellFileId(), doc.size());
      context.checkCancelled();
      Extraction ex = processor.process(context, new DocumentInput(doc.file(), doc.size(), p.mimeType(), p.filename()));
      ExtractionValidator.validate(ex, "invalid_extraction");
      context.checkCancelled();
      ObjectNode document = JSON.createObjectNode();
      document.put("text", ex.text());
      document.put("page_count", ex.pageCount());
      document.put("processor", ex.processor());
      document.put("model", ex.model());
      // issue 13: page accounting, what validation dropped, and whether the stored text was cut
      document.put("pages_read", ex.pagesRead());
      document.set("pages_unread", JSON.valueToTree(ex.unreadPages()));
      document.set("dropped_events", JSON.valueToTree(ex.droppedEvents()));
      document.put("text_truncated", ex.textTruncated());
      document.put("text_chars", ex.textChars());
      document.put("model_calls", ex.modelCalls());
      document.put("tokens_reserved", ex.tokensReserved());
      String events = JSON.writeValueAsString(ex.events());
      boolean written =
          context.commit(() -> writeBack.writeBack(job.id(), job.leaseToken(), document.toString(), events, ex.tokensUsed()));
      if (written) {
        log.info("wrote {} clinical events ({} chars of text, {} tokens), {} of {} pages read, {} events dropped",
            ex.events().size(), ex.text().length(), ex.tokensUsed(), ex.pagesRead(), ex.pageCount(), ex.droppedEvents().size());
      }
    }
  }

  /** Parses and checks the payload; anything missing is a permanent failure naming the field. */
  public static Payload parse(ClaimedJob job) throws JobFailure {
    JsonNode n;
    try {
      n = JSON.readTree(job.payloadJson() == null ? "null" : job.payloadJson());
    } catch (IOException e) {
      throw JobFailure.permanent("invalid_payload", "job payload is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    if (n == null || !n.isObject()) {
      throw JobFailure.permanent("invalid_payload", "job payload must be a JSON object");
    }
    UUID shellFileId;
    try {
      shellFileId = UUID.fromString(required(n, "shell_file_id"));
    } catch (IllegalArgumentException e) {
      throw JobFailure.permanent("invalid_payload", "payload.shell_file_id is not a UUID", Map.of("field", "shell_file_id"));
    }
    if (job.shellFileId() != null && !job.shellFileId().equals(shellFileId)) {
      throw JobFailure.permanent(
          "invalid_payload", "payload.shell_file_id " + shellFileId + " differs from the job's shell_file_id " + job.shellFileId(),
          Map.of("field", "shell_file_id"));
    }
    JsonNode size = n.get("size_bytes");
    return new Payload(
        shellFileId,
        required(n, "bucket"),
        required(n, "storage_path"),
        n.path("filename").asText(null),
        required(n, "mime_type"),
        size == null || size.isNull() ? null : size.asLong());
  }

  private static String required(JsonNode n, String field) throws JobFailure {
    JsonNode v = n.get(field);
    if (v == null || v.isNull() || !v.isTextual() || v.asText().isBlank()) {
      throw JobFailure.permanent("invalid_payload", "payload." + field + " is missing or not a string", Map.of("field", field));
    }
    return v.asText();
  }
}
