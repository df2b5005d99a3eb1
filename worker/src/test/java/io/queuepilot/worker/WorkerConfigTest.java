package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** WorkerConfig: defaults, worker identity, and fail-fast validation naming the key. */
class WorkerConfigTest {

  private static Map<String, String> base() {
    Map<String, String> env = new HashMap<>();
    env.put("QUEUEPILOT_DB_URL", "jdbc:postgresql://db:5432/postgres");
    env.put("QUEUEPILOT_DB_USER", "worker_a");
    return env;
  }

  private static WorkerConfig.ConfigException error(Map<String, String> env) {
    try {
      WorkerConfig.from(env);
    } catch (WorkerConfig.ConfigException e) {
      return e;
    }
    throw new AssertionError("expected a configuration error for " + env);
  }

  @Test
  void defaults() {
    WorkerConfig c = WorkerConfig.from(base());
    assertThat(c.concurrency()).isEqualTo(4);
    assertThat(c.database().poolSize()).isEqualTo(7);
    assertThat(c.jobTypes()).containsExactly("document_extraction");
    assertThat(c.lanes()).isEmpty();
    assertThat(c.processor()).isEqualTo(WorkerConfig.ProcessorKind.LOCAL);
    assertThat(c.store()).isEqualTo(WorkerConfig.StoreKind.LOCAL);
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.maxRuntime()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.gracePeriod()).isEqualTo(Duration.ofSeconds(25));
    assertThat(c.httpPort()).isEqualTo(8080);
    assertThat(c.logFormat()).isEqualTo(WorkerConfig.LogFormat.TEXT);
    assertThat(c.jitPolicy()).isEqualTo(WorkerConfig.JitPolicy.JVM);
    Map<String, String> pipeline = base();
    pipeline.put("QUEUEPILOT_JIT_POLICY", "pipeline");
    assertThat(WorkerConfig.from(pipeline).jitPolicy()).isEqualTo(WorkerConfig.JitPolicy.PIPELINE);
    assertThat(c.openAiBaseUrl()).isEqualTo("https://api.openai.com/v1");
    assertThat(c.maxDocumentBytes()).isEqualTo(512L << 20);
    assertThat(c.workerId()).endsWith("-" + ProcessHandle.current().pid());
  }

  @Test
  void modelEndpointsAndTheModelsLimitsAreCheckedAtStartUp() {
    Map<String, String> env = base();
    env.put("QUEUEPILOT_PROCESSOR", "openai");
    env.put("OPENAI_API_KEY", "sk-x");
    env.put("QUEUEPILOT_OPENAI_ENDPOINT", "azure");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_AZURE_DEPLOYMENT");
    env.put("QUEUEPILOT_AZURE_DEPLOYMENT", "extraction");
    env.put("OPENAI_BASE_URL", "https://clinic.openai.azure.com/");
    WorkerConfig c = WorkerConfig.from(env);
    assertThat(c.openAiEndpoint()).isEqualTo(WorkerConfig.OpenAiEndpoint.AZURE);
    assertThat(c.openAiBaseUrl()).isEqualTo("https://clinic.openai.azure.com");
    assertThat(c.azureApiVersion()).isEqualTo("2024-10-21");
    env.put("QUEUEPILOT_OPENAI_ENDPOINT", "bedrock");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_OPENAI_ENDPOINT");
    env.put("QUEUEPILOT_OPENAI_ENDPOINT", "openai");
    // gpt-4o-mini returns at most 16,384 tokens: a larger cap could never be honoured
    env.put("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", "20000");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS");
    env.put("QUEUEPILOT_OPENAI_MODEL", "o3");
    assertThat(WorkerConfig.from(env).openAiMaxOutputTokens()).isEqualTo(20000);
    env.put("QUEUEPILOT_QUOTA_BLOCK_SECONDS", "7200");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_QUOTA_BLOCK_SECONDS");
  }

  @Test
  void httpBindAddressDefaultsToAllInterfacesAndTakesOnlyIpLiterals() throws Exception {
    assertThat(WorkerConfig.from(base()).httpBindAddress()).isEqualTo("0.0.0.0");
    Map<String, String> local = base();
    local.put("QUEUEPILOT_HTTP_BIND_ADDRESS", "127.0.0.1");
    local.put("QUEUEPILOT_HTTP_PORT", "0");
    WorkerConfig c = WorkerConfig.from(local);
    try (var server = new io.queuepilot.worker.http.HealthServer(c.httpBindAddress(), c.httpPort(),
        new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT),
        () -> new io.queuepilot.worker.http.HealthServer.Readiness(true, "ok"))) {
      assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
    }
    for (String bad : List.of("localhost", "0.0.0.0.0", "eth0")) {
      Map<String, String> env = base();
      env.put("QUEUEPILOT_HTTP_BIND_ADDRESS", bad);
      assertThat(error(env).key()).as(bad).isEqualTo("QUEUEPILOT_HTTP_BIND_ADDRESS");
    }
  }

  @Test
  void everyKeyIsDocumentedOnce() {
    List<String> names = WorkerConfig.KEYS.stream().map(WorkerConfig.Key::name).toList();
    assertThat(names).doesNotHaveDuplicates().contains("QUEUEPILOT_CONCURRENCY", "OPENAI_BASE_URL",
        "QUEUEPILOT_GRACE_PERIOD_SECONDS", "QUEUEPILOT_DB_LISTEN_URL", "QUEUEPILOT_TOKENS_PER_MINUTE");
    assertThat(WorkerConfig.KEYS).allSatisfy(k -> assertThat(k.description()).isNotBlank());
  }

  @Test
  void workerIdComesFromPodNameThenRenderInstanceThenHostAndPid() {
    Map<String, String> env = base();
    env.put("RENDER_INSTANCE_ID", "srv-abc-xyz12");
    assertThat(WorkerConfig.from(env).workerId()).isEqualTo("srv-abc-xyz12");
    env.put("POD_NAME", "queuepilot-worker-7d9f-abcde");
    assertThat(WorkerConfig.from(env).workerId()).isEqualTo("queuepilot-worker-7d9f-abcde");
    env.put("QUEUEPILOT_WORKER_ID", "explicit-1");
    assertThat(WorkerConfig.from(env).workerId()).isEqualTo("explicit-1");
  }

  @Test
  void anUnexpandedTemplateIsNeverAWorkerId() {
    Map<String, String> env = base();
    env.put("QUEUEPILOT_WORKER_ID", "$(POD_NAME)");
    WorkerConfig.ConfigException e = error(env);
    assertThat(e.key()).isEqualTo("QUEUEPILOT_WORKER_ID");
    assertThat(e.getMessage()).contains("template");

    Map<String, String> pod = base();
    pod.put("POD_NAME", "${POD_NAME}");
    assertThat(error(pod).key()).isEqualTo("POD_NAME");
  }

  @Test
  void badValuesFailFastNamingTheKey() {
    Map<String, Map.Entry<String, String>> cases = Map.of(
        "QUEUEPILOT_CONCURRENCY", Map.entry("QUEUEPILOT_CONCURRENCY", "0"),
        "QUEUEPILOT_PROCESSOR", Map.entry("QUEUEPILOT_PROCESSOR", "gpt"),
        "QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", Map.entry("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "abc"),
        "QUEUEPILOT_LOG_FORMAT", Map.entry("QUEUEPILOT_LOG_FORMAT", "xml"),
        "QUEUEPILOT_JIT_POLICY", Map.entry("QUEUEPILOT_JIT_POLICY", "c1"),
        "QUEUEPILOT_JOB_TYPES", Map.entry("QUEUEPILOT_JOB_TYPES", "Document Extraction"),
        "OPENAI_BASE_URL", Map.entry("OPENAI_BASE_URL", "ftp://x"),
        "QUEUEPILOT_HEAP_FRACTION", Map.entry("QUEUEPILOT_HEAP_FRACTION", "1.5"),
        "QUEUEPILOT_DB_PREPARED_STATEMENTS", Map.entry("QUEUEPILOT_DB_PREPARED_STATEMENTS", "maybe"));
    cases.forEach((key, kv) -> {
      Map<String, String> env = base();
      env.put(kv.getKey(), kv.getValue());
      assertThat(error(env).key()).as(key).isEqualTo(key);
    });
  }

  @Test
  void requiredKeysDependOnTheChosenProcessorAndStore() {
    Map<String, String> env = base();
    env.remove("QUEUEPILOT_DB_URL");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_DB_URL");

    Map<String, String> openai = base();
    openai.put("QUEUEPILOT_PROCESSOR", "openai");
    assertThat(error(openai).key()).isEqualTo("OPENAI_API_KEY");

    Map<String, String> supabase = base();
    supabase.put("QUEUEPILOT_STORE", "supabase");
    assertThat(error(supabase).key()).isEqualTo("SUPABASE_URL");
    supabase.put("SUPABASE_URL", "https://abc.supabase.co");
    assertThat(error(supabase).key()).isEqualTo("SUPABASE_SERVICE_ROLE_KEY");
    supabase.put("SUPABASE_SERVICE_ROLE_KEY", "service-key");
    assertThat(WorkerConfig.from(supabase).supabaseUrl()).contains("https://abc.supabase.co");
  }

  @Test
  void heartbeatMustBeShorterThanTheTimeoutAndDecimalsAreAllowed() {
    Map<String, String> env = base();
    env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "0.25");
    env.put("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", "2");
    assertThat(WorkerConfig.from(env).heartbeatInterval()).isEqualTo(Duration.ofMillis(250));
    env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "5");
    assertThat(error(env).key()).isEqualTo("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS");
  }

  @Test
  void transactionPoolerSettingsComeFromTheQueueConfig() {
    Map<String, String> env = base();
    env.put("QUEUEPILOT_DB_URL", "jdbc:postgresql://aws-0-eu.pooler.supabase.com:6543/postgres");
    env.put("QUEUEPILOT_DB_PREPARED_STATEMENTS", "false");
    WorkerConfig c = WorkerConfig.from(env);
    assertThat(c.database().preparedStatements()).isFalse();
    assertThat(c.database().effectiveListenUrl()).isEmpty();
    assertThatThrownBy(() -> {
      Map<String, String> bad = base();
      bad.put("QUEUEPILOT_DB_URL", "postgres://x");
      WorkerConfig.from(bad);
    }).isInstanceOf(WorkerConfig.ConfigException.class).hasMessageStartingWith("QUEUEPILOT_DB_URL");
  }
}
