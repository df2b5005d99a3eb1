package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The series the chart's ratio alerts divide by exist from the first scrape, at 0, before any job
 * finished: otherwise "failures rising, nothing ever completed" leaves the denominator empty and
 * the error-rate and SLO alerts silent (helm/src/test/resources/promtool/ replays that case).
 */
class WorkerMetricsTest {

  @Test
  void countersOfKnownLabelsAreScrapedAtZeroBeforeAnyJob() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new WorkerMetrics(registry).preRegister(List.of("document_extraction", "thumbnail"));
    String scrape = registry.scrape();
    for (String jobType : List.of("document_extraction", "thumbnail")) {
      for (String counter : List.of("jobs_completed_total", "jobs_claimed_total", "jobs_lease_lost_total")) {
        assertThat(scrape).as(counter + " for " + jobType)
            .containsPattern("(?m)^queuepilot_worker_" + counter + "\\{job_type=\"" + jobType + "\"} 0\\.0$");
      }
    }
    for (String loop : WorkerMetrics.LOOPS) {
      assertThat(scrape).containsPattern("(?m)^queuepilot_worker_loop_errors_total\\{loop=\"" + loop + "\"} 0\\.0$");
    }
    assertThat(scrape).containsPattern("(?m)^queuepilot_worker_claim_errors_total 0\\.0$");
  }

  @Test
  void withoutPreRegistrationTheCompletedSeriesIsAbsent() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new WorkerMetrics(registry).failed("document_extraction", "permanent", "corrupt_pdf", java.time.Duration.ofMillis(5));
    assertThat(registry.scrape()).contains("queuepilot_worker_jobs_failed_total").doesNotContain("jobs_completed_total");
  }
}
