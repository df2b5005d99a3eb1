package io.queuepilot.worker.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.JobFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SupabaseStorageStore against the Storage fake on loopback. */
class SupabaseStorageStoreTest {

  @TempDir Path temp;
  private FakeStorage storage;

  @BeforeEach
  void start() throws IOException {
    storage = new FakeStorage("service-key").bucket("medical-docs", false).bucket("public-docs", true);
  }

  @AfterEach
  void stop() {
    storage.close();
  }

  private SupabaseStorageStore store(String bucket, String key, boolean signed, long maxBytes) {
    return new SupabaseStorageStore(storage.baseUrl(), key, bucket, signed, new TempFiles(temp, maxBytes), Duration.ofSeconds(10));
  }

  private long tempFiles() throws IOException {
    try (Stream<Path> s = Files.list(temp)) {
      return s.count();
    }
  }

  @Test
  void refusesToStartOnAPublicMissingOrForbiddenBucket() throws IOException {
    store("medical-docs", "service-key", false, 100).checkReady();
    assertThatThrownBy(() -> store("public-docs", "service-key", false, 100).checkReady())
        .isInstanceOf(IOException.class).hasMessageContaining("PUBLIC").hasMessageContaining("refusing to start");
    assertThatThrownBy(() -> store("nope", "service-key", false, 100).checkReady())
        .isInstanceOf(IOException.class).hasMessageContaining("nope");
    assertThatThrownBy(() -> store("medical-docs", "wrong-key", false, 100).checkReady())
        .isInstanceOf(IOException.class).hasMessageContaining("403");
  }

  @Test
  void streamsTheObjectToATempFileThatCloseRemoves() throws Exception {
    storage.put("medical-docs", "p 1/lab result.txt", "text/plain", "HbA1c 6.9 %".getBytes(StandardCharsets.UTF_8));
    for (boolean signed : new boolean[] {false, true}) {
      Path file;
      try (FetchedDocument d = store("medical-docs", "service-key", signed, 1000)
          .fetch(new DocumentRef("medical-docs", "p 1/lab result.txt"))) {
        file = d.file();
        assertThat(file.getParent()).isEqualTo(temp);
        assertThat(Files.readString(file)).isEqualTo("HbA1c 6.9 %");
        assertThat(d.size()).isEqualTo(11);
        assertThat(d.contentType()).isEqualTo("text/plain");
      }
      assertThat(file).doesNotExist();
    }
    assertThat(storage.unauthorized()).isZero();
    assertThat(storage.downloads()).isEqualTo(2);
  }

  @Test
  void missingAndOversizedObjectsArePermanentAndLeaveNoTempFile() throws Exception {
    SupabaseStorageStore store = store("medical-docs", "service-key", false, 1000);
    JobFailure missing = failure(store, "p1/gone.pdf");
    assertThat(missing.code()).isEqualTo("object_not_found");
    assertThat(missing.errorClass()).isEqualTo(JobFailure.ErrorClass.PERMANENT);

    storage.put("medical-docs", "p1/big.bin", "application/pdf", new byte[5000]);
    assertThat(failure(store, "p1/big.bin").code()).isEqualTo("document_too_large");
    assertThat(tempFiles()).isZero();

    JobFailure forbidden = failure(store("medical-docs", "wrong-key", false, 1000), "p1/big.bin");
    assertThat(forbidden.errorClass()).isEqualTo(JobFailure.ErrorClass.RETRYABLE);
  }

  private static JobFailure failure(SupabaseStorageStore store, String path) throws Exception {
    try (FetchedDocument d = store.fetch(new DocumentRef("medical-docs", path))) {
      throw new AssertionError("expected a failure, got " + d.file());
    } catch (JobFailure f) {
      return f;
    }
  }
}
