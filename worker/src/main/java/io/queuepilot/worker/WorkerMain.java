package io.queuepilot.worker;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The worker process: reads {@link WorkerConfig} from the environment (exit 2 naming the bad
 * key), starts {@link WorkerApp}, and on SIGTERM/SIGINT stops claiming, lets in-flight jobs
 * finish within the grace period, releases the rest and exits 0.
 */
public final class WorkerMain {

  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    WorkerConfig config;
    try {
      config = WorkerConfig.fromEnvironment();
    } catch (IllegalArgumentException e) {
      System.err.println("queuepilot-worker: configuration error: " + e.getMessage());
      System.exit(2);
      return;
    }
    configureLogging(config.logFormat());
    Logger log = LoggerFactory.getLogger(WorkerMain.class);
    WorkerApp app;
    try {
      app = WorkerApp.start(config, Clock.systemUTC());
    } catch (Exception e) {
      log.error("worker could not start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    stop.await();
    log.info("signal received: draining (grace period {} s)", config.gracePeriod().toMillis() / 1000.0);
    int released = app.shutdown();
    log.info("worker stopped cleanly; {} job(s) released", released);
    System.exit(0);
  }

  private static void configureLogging(WorkerConfig.LogFormat format) {
    if (format != WorkerConfig.LogFormat.JSON) {
      return;
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    try {
      configurator.doConfigure(WorkerMain.class.getResource("/logback-json.xml"));
    } catch (JoranException e) {
      throw new IllegalStateException("could not load logback-json.xml", e);
    }
  }
}
