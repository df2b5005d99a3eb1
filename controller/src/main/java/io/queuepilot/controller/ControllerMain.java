package io.queuepilot.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.db.DatabaseCredentials;
import io.queuepilot.controller.db.NotificationHub;
import io.queuepilot.controller.k8s.KubernetesController;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.controller.render.RenderScaler;
import io.queuepilot.controller.render.RenderScalerConfig;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.target.RenderApi;
import io.queuepilot.controller.target.RenderScaleTarget;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.QueueConfig;
import io.queuepilot.queue.QueueDataSources;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the controller process: reads {@link ControllerConfig}, then runs either the
 * Kubernetes operator (QueueScaler reconciler) or the standalone Render scaler, with
 * {@code /healthz}, {@code /readyz} and {@code /metrics} on QUEUEPILOT_HTTP_PORT.
 */
public final class ControllerMain {

  private ControllerMain() {}

  public static void main(String[] args) throws Exception {
    ControllerConfig config;
    try {
      config = ControllerConfig.from(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("queuepilot-controller: bad configuration: " + e.getMessage());
      System.err.println("keys:");
      ControllerConfig.KEYS.forEach((k, d) -> System.err.println("  " + k + " - " + d));
      System.exit(2);
      return;
    }
    if (config.logFormat().equals("json")) System.setProperty("logback.configurationFile", "logback-json.xml");
    Logger log = LoggerFactory.getLogger(ControllerMain.class);
    log.info("starting with {}", config);

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
    Clock clock = Clock.systemUTC();
    CountDownLatch stop = new CountDownLatch(1);

    if (config.mode() == ControllerConfig.Mode.KUBERNETES) {
      // One explicit HTTP client (JDK); the classpath carries two fabric8 factories otherwise picked at random.
      KubernetesClient client = new KubernetesClientBuilder()
          .withHttpClientFactory(new io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory()).build();
      KubernetesController controller = KubernetesController.start(client, registry, new KubernetesController.Options(
          config.watchNamespaces(), config.leaderElection() ? config.podNamespace() : null, config.podName(),
          config.renderApiUrl(), clock,
          // exit from a fresh thread: System.exit must not run on the leader-election thread it waits for
          () -> new Thread(() -> System.exit(1), "queuepilot-lost-lease").start()));
      HttpEndpoints http = new HttpEndpoints(config.httpBindAddress(), config.httpPort(), registry, controller::started, controller::started);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        log.info("shutting down");
        controller.close();
        http.close();
        client.close();
        stop.countDown();
      }, "queuepilot-shutdown"));
    } else {
      QueueScalerSpec spec;
      try {
        spec = RenderScalerConfig.load(config.renderConfig());
      } catch (IllegalArgumentException e) {
        System.err.println("queuepilot-controller: bad Render spec file: " + e.getMessage());
        System.exit(2);
        return;
      }
      // Before the pool: a transaction pooler on any port changes how the pool is built.
      QueueConfig database = QueueDataSources.resolvePooler(config.database(), "queuepilot-controller");
      var pool = QueueDataSources.pool(database, "queuepilot-controller");
      ControllerMetrics metrics = new ControllerMetrics(registry);
      RenderScaleTarget target = new RenderScaleTarget(new RenderApi(config.renderApiUrl(), config.renderApiKey(), clock),
          spec.scaleTargetRef.name);
      RenderScaler scaler = new RenderScaler(spec.scaleTargetRef.name, spec, new PostgresJobQueue(pool),
          io.queuepilot.scaling.BudgetReader.of(new io.queuepilot.queue.TokenBudgetStatusRepository(pool)), target, metrics, clock);
      NotificationHub hub = new NotificationHub(Duration.ofSeconds(5), Duration.ofMillis(500));
      database.effectiveListenUrl().ifPresentOrElse(
          url -> hub.subscribe("render", new DatabaseCredentials(database.url(),
              nullToEmpty(database.user()), nullToEmpty(database.password()), url),
              SpecMapping.jobTypes(spec), scaler::wake),
          () -> log.info("main database URL is a transaction pooler and QUEUEPILOT_DB_LISTEN_URL is unset: polling only"));
      scaler.start();
      HttpEndpoints http = new HttpEndpoints(config.httpBindAddress(), config.httpPort(), registry, () -> true, scaler::ready);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        log.info("shutting down");
        hub.close();
        scaler.close();
        http.close();
        pool.close();
        stop.countDown();
      }, "queuepilot-shutdown"));
    }
    stop.await();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
