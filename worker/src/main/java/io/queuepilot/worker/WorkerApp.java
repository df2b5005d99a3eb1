package io.queuepilot.worker;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.queuepilot.queue.JobNotificationListener;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.QueueConfig;
import io.queuepilot.queue.QueueDataSources;
import io.queuepilot.queue.budget.PostgresTokenBudget;
import io.queuepilot.queue.budget.TokenBudget;
import io.queuepilot.queue.writeback.PostgresWriteBack;
import io.queuepilot.worker.budget.LocalTokenBudget;
import io.queuepilot.worker.http.HealthServer;
import io.queuepilot.worker.process.LocalProcessor;
import io.queuepilot.worker.process.OpenAiModelClient;
import io.queuepilot.worker.process.OpenAiProcessor;
import io.queuepilot.worker.process.Processor;
import io.queuepilot.worker.store.DocumentStore;
import io.queuepilot.worker.store.LocalDirectoryStore;
import io.queuepilot.worker.store.SupabaseStorageStore;
import io.queuepilot.worker.store.TempFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's one composition root: wires a worker from its {@link WorkerConfig} — database
 * pool, queue client, document store (checked at start-up), processor, shared token budget,
 * LISTEN wake-ups, the loop and the health/metrics server. The worker process, the CLI's local
 * mode, the benchmark and the tests all start workers through {@link #builder}.
 */
public final class WorkerApp implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WorkerApp.class);

  private final WorkerConfig config;
  private final HikariDataSource pool;
  private final Worker worker;
  private final Optional<JobNotificationListener> listener;
  private final HealthServer http;
  private final OpenAiModelClient modelClient;
  private final PrometheusMeterRegistry registry;

  private WorkerApp(WorkerConfig config, HikariDataSource pool, Worker worker, Optional<JobNotificationListener> listener,
      HealthServer http, OpenAiModelClient modelClient, PrometheusMeterRegistry registry) {
    this.config = config;
    this.pool = pool;
    this.worker = worker;
    this.listener = listener;
    this.http = http;
    this.modelClient = modelClient;
    this.registry = registry;
  }

  /** Builds, checks and starts the worker process's whole wiring (what {@code WorkerMain} runs). */
  public static WorkerApp start(WorkerConfig config, Clock clock) throws IOException {
    return builder(config).clock(clock).start();
  }

  /**
   * The one composition root: the worker process, the CLI's local mode, the benchmark and the
   * tests all start workers through it, varying only what the builder lets them vary.
   */
  public static Builder builder(WorkerConfig config) {
    return new Builder(config);
  }

  /** What callers may vary around the production wiring; everything else comes from the {@link WorkerConfig}. */
  public static final class Builder {
    private final WorkerConfig config;
    private Clock clock = Clock.systemUTC();
    private UnaryOperator<Processor> processorDecorator = UnaryOperator.identity();
    private java.util.function.Function<io.queuepilot.queue.JobQueue, JobHandler> handler;
    private boolean httpServer = true;

    private Builder(WorkerConfig config) {
      this.config = java.util.Objects.requireNonNull(config, "config");
    }

    public Builder clock(Clock v) {
      clock = v;
      return this;
    }

    /** Wraps the configured processor (the CLI's local mode adds a model think time). */
    public Builder processor(UnaryOperator<Processor> decorator) {
      processorDecorator = decorator;
      return this;
    }

    /**
     * Runs the handler {@code factory} makes (given the worker's own queue client) instead of the
     * document pipeline (no store, processor or budget is built): the benchmark's no-op jobs.
     */
    public Builder handler(java.util.function.Function<io.queuepilot.queue.JobQueue, JobHandler> factory) {
      handler = factory;
      return this;
    }

    /** No /healthz, /readyz, /metrics server (replicas inside another process). */
    public Builder withoutHttpServer() {
      httpServer = false;
      return this;
    }

    /** Builds, checks and starts everything; throws (and leaves nothing running) when a check fails. */
    public WorkerApp start() throws IOException {
      return WorkerApp.start(this);
    }
  }

  private static WorkerApp start(Builder b) throws IOException {
    WorkerConfig config = b.config;
    Clock clock = b.clock;
    // First, before the pool and the queue loop make their code hot: directives apply to later compiles.
    JitPolicies.Outcome jit = JitPolicies.apply(config.jitPolicy(), config.tempDir());
    if (jit.applied() || config.jitPolicy() == WorkerConfig.JitPolicy.JVM) {
      log.info("JIT policy {}", jit.detail());
    } else {
      log.warn("JIT policy pipeline not applied, running on HotSpot's default tiers: {}", jit.detail());
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("worker_id", config.workerId());
    WorkerMetrics metrics = new WorkerMetrics(registry);
    metrics.preRegister(config.jobTypes());
    // Before the pool: a transaction pooler on any port changes how the pool is built.
    QueueConfig database = QueueDataSources.resolvePooler(config.database(), "qp-worker-" + config.workerId());
    HikariDataSource pool = QueueDataSources.pool(database, "qp-worker-" + config.workerId());
    OpenAiModelClient modelClient = null;
    ProviderHalt halt = new ProviderHalt(clock);
    metrics.providerHalt(halt);
    try {
      PostgresJobQueue queue = new PostgresJobQueue(pool);
      JobHandler handler = b.handler == null ? null : b.handler.apply(queue);
      if (handler == null) {
        removeLeftoverTempFiles(config.tempDir());
        DocumentStore store = store(config);
        store.checkReady();
        Processor processor;
        if (config.processor() == WorkerConfig.ProcessorKind.OPENAI) {
          modelClient = new OpenAiModelClient(
              OpenAiModelClient.Endpoint.valueOf(config.openAiEndpoint().name()), config.openAiBaseUrl(),
              config.openAiApiKey().orElseThrow(), config.openAiTimeout(), config.openAiModel(),
              config.azureDeployment().orElse(null), config.azureApiVersion());
          OpenAiProcessor openAi = new OpenAiProcessor(modelClient, budget(config, pool, clock), metrics, halt,
              config.openAiProcessorSettings());
          checkModel(modelClient, openAi, config);
          processor = openAi;
        } else {
          processor = new LocalProcessor(config.maxTextChars(), config.maxEvents());
        }
        handler = new DocumentJobHandler(store, b.processorDecorator.apply(processor), new PostgresWriteBack(pool));
      }
      Worker worker = Worker.builder(queue, handler).config(config).clock(clock).metrics(metrics)
          .providerHalt(halt).build();
      Optional<JobNotificationListener> listener =
          JobNotificationListener.create(database, "qp-worker-" + config.workerId());
      metrics.databaseMode(database.mainUrlIsTransactionPooler(),
          () -> listener.map(JobNotificationListener::isConnected).orElse(false) ? 1 : 0);
      listener.ifPresent(l -> l.onAnyJob(type -> {
        metrics.notification();
        worker.wake(type);
      }).onConnect(() -> worker.wake(null)));
      HealthServer http = b.httpServer
          ? new HealthServer(config.httpBindAddress(), config.httpPort(), registry,
              () -> readiness(worker, pool, halt, listener))
          : null;
      worker.start();
      listener.ifPresent(JobNotificationListener::start);
      log.info("worker {} up: processor {}, store {}, http {}, wake-ups: {}", config.workerId(),
          b.handler != null ? "custom handler" : config.processor().name().toLowerCase(),
          config.store().name().toLowerCase(), http == null ? "off" : http.address(),
          listener.isPresent() ? "LISTEN + polling" : "polling only every " + config.pollInterval());
      return new WorkerApp(config, pool, worker, listener, http, modelClient, registry);
    } catch (IOException | RuntimeException e) {
      if (modelClient != null) {
        modelClient.close();
      }
      pool.close();
      throw e;
    }
  }

  /**
   * Model capabilities before the first job: the provider must accept the key and know the model
   * (a free models call on OpenAI); a refused model or parameter is a configuration error that
   * stops the start, a refused key or exhausted quota leaves the worker up but not ready and not
   * claiming, with the reason in the log and on /readyz.
   */
  private static void checkModel(OpenAiModelClient client, OpenAiProcessor processor, WorkerConfig config) {
    try {
      client.checkReady(config.openAiModel());
    } catch (io.queuepilot.worker.process.ModelClient.ProviderUnusable e) {
      if (e.kind() == io.queuepilot.worker.process.ModelClient.ProviderUnusable.Kind.CONFIG) {
        throw new WorkerConfig.ConfigException("QUEUEPILOT_OPENAI_MODEL", e.getMessage());
      }
      processor.halted(e);
    } catch (JobFailure e) {
      log.warn("could not check model {} at start-up ({}); the first job will tell", config.openAiModel(), e.getMessage());
    }
  }

  private static HealthServer.Readiness readiness(Worker worker, HikariDataSource pool, ProviderHalt halt,
      Optional<JobNotificationListener> listener) {
    if (!worker.accepting()) {
      return new HealthServer.Readiness(false, "draining: not claiming new jobs");
    }
    var halted = halt.current();
    if (halted.isPresent()) {
      return new HealthServer.Readiness(false, "model provider unusable (" + halted.get().reason().name().toLowerCase()
          + ", " + halted.get().code() + "): not claiming; " + ProviderHalt.remedy(halted.get().reason()));
    }
    try (Connection c = pool.getConnection()) {
      if (!c.isValid(2)) {
        return new HealthServer.Readiness(false, "database connection is not valid");
      }
    } catch (Exception e) {
      return new HealthServer.Readiness(false, "database unreachable: " + e.getMessage());
    }
    String wakeUps = listener.map(l -> l.refusal().map(r -> "; polling only: " + r)
        .orElse(l.isConnected() ? "; listening" : "; LISTEN reconnecting, polling")).orElse("; polling only");
    return new HealthServer.Readiness(true,
        "ready: " + worker.inFlight() + "/" + worker.capacity() + " jobs in flight" + wakeUps);
  }

  private static DocumentStore store(WorkerConfig c) {
    return switch (c.store()) {
      case LOCAL -> new LocalDirectoryStore(c.storeDir(), c.maxDocumentBytes());
      case SUPABASE -> new SupabaseStorageStore(c.supabaseUrl().orElseThrow(), c.supabaseServiceRoleKey().orElseThrow(),
          c.storageBucket(), c.storageSignedUrls(), new TempFiles(c.tempDir(), c.maxDocumentBytes()), Duration.ofSeconds(60));
    };
  }

  private static TokenBudget budget(WorkerConfig c, HikariDataSource pool, Clock clock) {
    PostgresTokenBudget shared =
        new PostgresTokenBudget(pool, c.tokenBudgetName(), (int) Math.max(1, c.openAiTimeout().toSeconds()));
    if (c.tokensPerMinute() > 0) {
      int requests = c.requestsPerMinute() > 0 ? c.requestsPerMinute() : Integer.MAX_VALUE / 4;
      shared.configure(c.tokensPerMinute(), requests, c.budgetWindowSeconds());
      return shared;
    }
    if (shared.exists()) {
      return shared;
    }
    log.warn("no token budget '{}' is configured (QUEUEPILOT_TOKENS_PER_MINUTE=0 and no token_budget row):"
        + " replicas do not share a budget; only OpenAI's 429s and headers slow this process down", c.tokenBudgetName());
    return new LocalTokenBudget(clock);
  }

  /** Deletes document temp files a killed worker left behind in this (per-process) directory. */
  private static void removeLeftoverTempFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(dir, TempFiles.PREFIX + "*")) {
      for (Path p : leftovers) {
        // only files untouched for an hour: another worker may share the directory
        if (Files.getLastModifiedTime(p).toInstant().isBefore(java.time.Instant.now().minus(Duration.ofHours(1)))) {
          Files.deleteIfExists(p);
        }
      }
    } catch (IOException e) {
      log.warn("could not sweep leftover temp files in {}", dir, e);
    }
  }

  public Worker worker() {
    return worker;
  }

  /** True while the LISTEN connection is up (false when polling only). */
  public boolean listening() {
    return listener.map(JobNotificationListener::isConnected).orElse(false);
  }

  /** The port of /healthz, /readyz and /metrics; -1 when started without the HTTP server. */
  public int httpPort() {
    return http == null ? -1 : http.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Graceful stop within the configured grace period; returns the number of jobs released. */
  public int shutdown() {
    int released = worker.shutdown(config.gracePeriod());
    closeResources();
    return released;
  }

  /** Abrupt stop as if the process died (tests): no releases, connections dropped. */
  public void kill() {
    worker.kill();
    closeResources();
  }

  private void closeResources() {
    listener.ifPresent(JobNotificationListener::close);
    if (http != null) {
      http.close();
    }
    if (modelClient != null) {
      modelClient.close();
    }
    pool.close();
  }

  @Override
  public void close() {
    shutdown();
  }
}
