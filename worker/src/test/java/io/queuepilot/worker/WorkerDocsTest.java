package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/worker.md documents every configuration key with its default, and every metric. */
class WorkerDocsTest {

  @Test
  void everyKeyAndMetricIsDocumented() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "worker.md"));
    for (WorkerConfig.Key k : WorkerConfig.KEYS) {
      String def = k.defaultValue() == null ? "—" : "`" + k.defaultValue() + "`";
      assertThat(doc).as(k.name()).contains("| `" + k.name() + "` | " + def + " | " + k.description() + " |");
    }
    for (String metric : new String[] {"jobs_claimed_total", "jobs_completed_total", "jobs_failed_total",
        "jobs_dead_lettered_total", "jobs_released_total", "job_duration_seconds", "tokens_used_total",
        "budget_waits_total", "jobs_in_flight", "heartbeat_failures_total"}) {
      assertThat(doc).contains("queuepilot_worker_" + metric);
    }
  }
}
