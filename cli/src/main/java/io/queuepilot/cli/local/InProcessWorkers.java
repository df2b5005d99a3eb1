package io.queuepilot.cli.local;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.JobNotificationListener;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.QueueDataSources;
import io.queuepilot.queue.writeback.PostgresWriteBack;
import io.queuepilot.worker.DocumentJobHandler;
import io.queuepilot.worker.Worker;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.WorkerConfig;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.process.LocalProcessor;
import io.queuepilot.worker.process.Processor;
import io.queuepilot.worker.store.LocalDirectoryStore;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Starts worker replicas inside this JVM from a worker environment (the same keys a worker
 * process reads, validated by {@link WorkerConfig}). With the openai processor a replica is the
 * worker's own {@link WorkerApp}; with the local processor it is wired the same way minus the
 * HTTP server, with {@link ModelLatency} in front of the processor when a latency is set.
 */
final class InProcessWorkers implements LocalScaleTarget.Replicas {

  private final Map<String, String> workerEnv;
  private final Duration modelLatency;
  private final Clock clock;

  InProcessWorkers(Map<String, String> workerEnv, Duration modelLatency, Clock clock) {
    this.workerEnv = Map.copyOf(workerEnv);
    this.modelLatency = modelLatency;
    this.clock = clock;
  }

  /** The validated configuration of replica {@code workerId}. */
  WorkerConfig config(String workerId) {
    Map<String, String> env = new HashMap<>(workerEnv);
    env.put("QUEUEPILOT_WORKER_ID", workerId);
    return WorkerConfig.from(env);
  }

  @Override
  public LocalScaleTarget.Replica start(String workerId) throws Exception {
    WorkerConfig config = config(workerId);
    if (config.processor() == WorkerConfig.ProcessorKind.OPENAI) {
      WorkerApp app = WorkerApp.start(config, clock);
      return new LocalScaleTarget.Replica() {
        @Override
        public int shutdown() {
          return app.shutdown();
        }

        @Override
        public int inFlight() {
          return app.worker().inFlight();
        }
      };
    }
    HikariDataSource pool = QueueDataSources.pool(config.database(), "qp-" + workerId);
    try {
      LocalDirectoryStore store = new LocalDirectoryStore(config.storeDir(), config.maxDocumentBytes());
      store.checkReady();
      Processor processor = new LocalProcessor(config.maxTextChars(), config.maxEvents());
      if (!modelLatency.isZero()) {
        processor = new ModelLatency(processor, modelLatency);
      }
      Worker worker = new Worker(Worker.Settings.from(config), new PostgresJobQueue(pool),
          new DocumentJobHandler(store, processor, new PostgresWriteBack(pool)), clock,
          new WorkerMetrics(new SimpleMeterRegistry()), Runtime.getRuntime().maxMemory());
      Optional<JobNotificationListener> listener = JobNotificationListener.create(config.database(), "qp-" + workerId);
      listener.ifPresent(l -> l.onAnyJob(worker::wake).onConnect(() -> worker.wake(null)));
      worker.start();
      listener.ifPresent(JobNotificationListener::start);
      return new LocalScaleTarget.Replica() {
        @Override
        public int shutdown() {
          int released = worker.shutdown(config.gracePeriod());
          listener.ifPresent(JobNotificationListener::close);
          pool.close();
          return released;
        }

        @Override
        public int inFlight() {
          return worker.inFlight();
        }
      };
    } catch (Exception | Error e) {
      pool.close();
      throw e;
    }
  }
}
