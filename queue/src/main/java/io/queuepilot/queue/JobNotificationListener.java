package io.queuepilot.queue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes workers and the controller when jobs are enqueued: LISTEN {@value #CHANNEL} on one
 * dedicated direct connection (never the pool: a transaction pooler cannot hold a LISTEN), and
 * calls back per job type. Reconnects after any failure, and after every (re)connect fires the
 * reconnect callbacks so callers poll once for what they may have missed.
 *
 * <p>Notifications are only a latency optimisation: callers must poll as well. When no
 * listen URL can be used (the main URL is a transaction pooler and QUEUEPILOT_DB_LISTEN_URL is
 * unset), {@link #create} returns empty and the process relies on polling alone.
 *
 * <p>A LISTEN through a transaction pooler "succeeds" and then never delivers anything (the
 * backend that listened is handed to other clients). So before its first LISTEN the listener
 * runs {@link TransactionPoolerProbe} on its own connection factory; when that finds a
 * transaction pooler it logs why, stops for good and reports {@link #refusal()}: the process
 * polls only.
 */
public final class JobNotificationListener implements AutoCloseable {

  /** The channel enqueue_job notifies; the payload is the job_type. */
  public static final String CHANNEL = "queuepilot_jobs";

  private static final Logger log = LoggerFactory.getLogger(JobNotificationListener.class);
  private static final int POLL_TIMEOUT_MILLIS = 500;

  /** Opens the dedicated LISTEN connection. */
  @FunctionalInterface
  public interface ConnectionFactory {
    Connection open() throws SQLException;
  }

  private final ConnectionFactory connections;
  private final Duration reconnectDelay;
  private final Map<String, List<Consumer<String>>> byJobType = new ConcurrentHashMap<>();
  private final List<Consumer<String>> anyJobType = new CopyOnWriteArrayList<>();
  private final List<Runnable> onConnect = new CopyOnWriteArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicBoolean connected = new AtomicBoolean();
  private final AtomicLong connects = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong received = new AtomicLong();
  private volatile boolean probed;
  private volatile String refusal;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition stopped = lock.newCondition();
  private volatile Thread thread;

  public JobNotificationListener(ConnectionFactory connections, Duration reconnectDelay) {
    this.connections = Objects.requireNonNull(connections, "connections");
    this.reconnectDelay = Objects.requireNonNull(reconnectDelay, "reconnectDelay");
  }

  /**
   * A listener on the configured LISTEN URL, or empty when only a transaction pooler is
   * configured (polling only; logged once here).
   */
  public static Optional<JobNotificationListener> create(QueueConfig config, String applicationName) {
    Optional<String> url = config.effectiveListenUrl();
    if (url.isEmpty()) {
      log.info(
          "LISTEN disabled: {} looks like a transaction pooler and {} is unset; polling only",
          config.url(),
          QueueConfig.DB_LISTEN_URL);
      return Optional.empty();
    }
    String listenUrl = url.get();
    return Optional.of(
        new JobNotificationListener(
            () -> QueueDataSources.openListenConnection(listenUrl, config, applicationName + "-listen"),
            Duration.ofSeconds(2)));
  }

  /** Calls {@code callback} with the job type whenever a job of {@code jobType} becomes ready. */
  public JobNotificationListener onJobType(String jobType, Consumer<String> callback) {
    byJobType.computeIfAbsent(jobType, k -> new CopyOnWriteArrayList<>()).add(callback);
    return this;
  }

  /** Calls {@code callback} with the job type for every notification. */
  public JobNotificationListener onAnyJob(Consumer<String> callback) {
    anyJobType.add(callback);
    return this;
  }

  /** Runs {@code callback} after every successful (re)connect: poll then, notifications may have been missed. */
  public JobNotificationListener onConnect(Runnable callback) {
    onConnect.add(callback);
    return this;
  }

  /** Starts the listening thread (a daemon). */
  public synchronized void start() {
    if (!running.compareAndSet(false, true)) {
      return;
    }
    thread = Thread.ofPlatform().daemon().name("queuepilot-listen").start(this::run);
  }

  /** True while a LISTEN connection is established. */
  public boolean isConnected() {
    return connected.get();
  }

  /**
   * Why this listener gave up for good (its URL is a transaction pooler), or empty while it
   * listens or retries.
   */
  public Optional<String> refusal() {
    return Optional.ofNullable(refusal);
  }

  /** Successful connects so far (the first one included). */
  public long connectCount() {
    return connects.get();
  }

  /** Connection failures so far. */
  public long failureCount() {
    return failures.get();
  }

  /** Notifications received so far. */
  public long receivedCount() {
    return received.get();
  }

  private void run() {
    while (running.get()) {
      if (!probed) {
        try {
          TransactionPoolerProbe.Result probe = TransactionPoolerProbe.probe(connections::open);
          probed = true;
          if (probe.transactionPooler()) {
            refusal = "the LISTEN URL is a transaction pooler (" + probe.evidence() + "): LISTEN cannot"
                + " work there; set " + QueueConfig.DB_LISTEN_URL + " to a direct connection or a session-mode port";
            log.error("LISTEN refused, polling only: {}", refusal);
            running.set(false);
            return;
          }
        } catch (SQLException | RuntimeException e) {
          failures.incrementAndGet();
          log.warn("LISTEN connection failed before the pooler check (failure #{}); retrying in {}: {}",
              failures.get(), reconnectDelay, e.toString());
          awaitStopOrTimeout(reconnectDelay);
          continue;
        }
      }
      try (Connection c = connections.open()) {
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + CHANNEL);
        }
        PGConnection pg = c.unwrap(PGConnection.class);
        connected.set(true);
        connects.incrementAndGet();
        log.info("listening on {} (connect #{})", CHANNEL, connects.get());
        fire(onConnect);
        while (running.get()) {
          PGNotification[] notifications = pg.getNotifications(POLL_TIMEOUT_MILLIS);
          if (notifications == null) {
            continue;
          }
          for (PGNotification n : notifications) {
            received.incrementAndGet();
            dispatch(n.getParameter());
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (running.get()) {
          failures.incrementAndGet();
          log.warn("LISTEN connection failed (failure #{}); reconnecting in {}: {}", failures.get(), reconnectDelay,
              e.toString());
        }
      } finally {
        connected.set(false);
      }
      awaitStopOrTimeout(reconnectDelay);
    }
  }

  private void dispatch(String jobType) {
    for (Consumer<String> cb : byJobType.getOrDefault(jobType, List.of())) {
      call(cb, jobType);
    }
    for (Consumer<String> cb : anyJobType) {
      call(cb, jobType);
    }
  }

  private static void call(Consumer<String> cb, String jobType) {
    try {
      cb.accept(jobType);
    } catch (RuntimeException e) {
      log.warn("notification callback for job type {} failed", jobType, e);
    }
  }

  private static void fire(List<Runnable> callbacks) {
    for (Runnable r : callbacks) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("on-connect callback failed", e);
      }
    }
  }

  private void awaitStopOrTimeout(Duration d) {
    lock.lock();
    try {
      long nanos = d.toNanos();
      while (running.get() && nanos > 0) {
        nanos = stopped.awaitNanos(nanos);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running.set(false);
    } finally {
      lock.unlock();
    }
  }

  /** Stops listening and closes the connection; waits up to 5 s for the thread. */
  @Override
  public void close() {
    running.set(false);
    lock.lock();
    try {
      stopped.signalAll();
    } finally {
      lock.unlock();
    }
    Thread t = thread;
    if (t != null) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
