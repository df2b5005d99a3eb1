package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.worker.fakes.TestJobContext;
import io.queuepilot.worker.process.LocalProcessor;
import io.queuepilot.worker.store.LocalDirectoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 12: the worker logs ids, never the patient-chosen storage path or file name (PHI, and
 * a newline in them would forge log lines) — neither on success nor in a failure's message.
 */
class DocumentJobHandlerLogTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final String PATIENT = UUID.randomUUID().toString();
  /** What a patient may choose: their name and diagnosis, and a line break to forge a log line. */
  static final String NAME = "Jane Doe HIV results.txt";
  static final String FOLDER = "Jane Doe private";

  @TempDir Path root;
  final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  final Logger rootLogger = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  @BeforeEach
  void capture() {
    logs.start();
    rootLogger.addAppender(logs);
  }

  @AfterEach
  void release() {
    rootLogger.detachAppender(logs);
  }

  private TestJobContext job(UUID shellFile, String storagePath) throws Exception {
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("shell_file_id", shellFile.toString());
    payload.put("bucket", "medical-docs");
    payload.put("storage_path", storagePath);
    payload.put("filename", NAME);
    payload.put("mime_type", "text/plain");
    payload.put("size_bytes", 40);
    return new TestJobContext(JSON.writeValueAsString(payload));
  }

  /** Every logged message, argument, MDC value and exception message, as text. */
  private List<String> everythingLogged() {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : logs.list) {
      out.add(e.getFormattedMessage());
      out.addAll(e.getMDCPropertyMap().values());
      for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
        out.add(t.getMessage());
      }
    }
    return out;
  }

  @Test
  void aProcessedDocumentIsLoggedByItsShellFileIdOnly() throws Exception {
    String storagePath = PATIENT + "/" + FOLDER + "/" + NAME;
    Path file = root.resolve("medical-docs").resolve(storagePath);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "Allergy: penicillin. Metformin 500 mg.");
    UUID shellFile = UUID.randomUUID();
    List<String> written = new ArrayList<>();
    DocumentJobHandler handler = new DocumentJobHandler(new LocalDirectoryStore(root, 1_000_000),
        new LocalProcessor(10_000, 100), (job, lease, doc, events, tokens) -> written.add(doc));

    handler.handle(job(shellFile, storagePath));

    assertThat(written).hasSize(1);
    List<String> logged = everythingLogged();
    assertThat(logged).anyMatch(l -> l.contains("shell file " + shellFile));
    assertThat(logged).noneMatch(l -> l.contains("Jane Doe"));
  }

  @Test
  void aMissingDocumentFailsWithoutNamingThePath() throws Exception {
    UUID shellFile = UUID.randomUUID();
    DocumentJobHandler handler = new DocumentJobHandler(new LocalDirectoryStore(root, 1_000_000),
        new LocalProcessor(10_000, 100), (job, lease, doc, events, tokens) -> true);

    JobFailure failure = catchThrowableOfType(JobFailure.class,
        () -> handler.handle(job(shellFile, PATIENT + "/" + FOLDER + "/" + NAME)));

    assertThat(failure.code()).isEqualTo("object_not_found");
    assertThat(failure.getMessage()).isEqualTo("no object at the job's storage_path in bucket 'medical-docs' of the local store");
    assertThat(everythingLogged()).noneMatch(l -> l.contains("Jane Doe"));
  }
}
