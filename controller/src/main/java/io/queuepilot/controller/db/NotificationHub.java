package io.queuepilot.controller.db;

import io.queuepilot.queue.JobNotificationListener;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes scalers on the queue's NOTIFY: one {@link JobNotificationListener} (LISTEN
 * {@code queuepilot_jobs} on a dedicated connection, reconnecting) per distinct database, and
 * per subscriber a wake-up when the payload (the enqueued job's type) matches its job types,
 * and after every (re)connect (notifications may have been missed). A burst of NOTIFYs wakes a
 * subscriber at most once per {@code minGap}, the last one always followed by a wake-up.
 */
public final class NotificationHub implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NotificationHub.class);

  private final class Subscription {
    final DatabaseCredentials credentials;
    final List<String> jobTypes;
    final Runnable wake;
    long lastRunNanos = Long.MIN_VALUE / 2;
    boolean pending;

    Subscription(DatabaseCredentials credentials, List<String> jobTypes, Runnable wake) {
      this.credentials = credentials;
      this.jobTypes = List.copyOf(jobTypes);
      this.wake = wake;
    }

    /** Runs the wake-up now, or once at the end of the current gap. */
    void trigger() {
      long delay;
      synchronized (this) {
        if (pending) return;
        long since = System.nanoTime() - lastRunNanos;
        if (since >= minGap.toNanos()) {
          lastRunNanos = System.nanoTime();
          delay = 0;
        } else {
          pending = true;
          delay = minGap.toNanos() - since;
        }
      }
      if (delay == 0) {
        run();
      } else {
        scheduler.schedule(() -> {
          synchronized (this) {
            pending = false;
            lastRunNanos = System.nanoTime();
          }
          run();
        }, delay, TimeUnit.NANOSECONDS);
      }
    }

    private void run() {
      try {
        wake.run();
      } catch (RuntimeException e) {
        log.warn("waking a scaler after NOTIFY failed", e);
      }
    }
  }

  private final Map<Object, Subscription> subscriptions = new ConcurrentHashMap<>();
  private final Map<DatabaseCredentials, JobNotificationListener> listeners = new ConcurrentHashMap<>();
  private final AtomicLong notifications = new AtomicLong();
  private final Duration reconnectDelay;
  private final Duration minGap;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "queuepilot-notify-throttle");
    t.setDaemon(true);
    return t;
  });

  /** {@code minGap}: least time between two wake-ups of one subscriber. */
  public NotificationHub(Duration reconnectDelay, Duration minGap) {
    this.reconnectDelay = reconnectDelay;
    this.minGap = minGap;
  }

  /** Subscribes (or re-subscribes) {@code key}: {@code wake} runs on matching NOTIFYs. */
  public void subscribe(Object key, DatabaseCredentials c, List<String> jobTypes, Runnable wake) {
    Subscription previous = subscriptions.get(key);
    if (previous != null && previous.credentials.equals(c) && previous.jobTypes.equals(jobTypes)) return;
    subscriptions.put(key, new Subscription(c, jobTypes, wake));
    listeners.computeIfAbsent(c, this::listen);
    if (previous != null && !previous.credentials.equals(c)) stopUnused(previous.credentials);
  }

  public void unsubscribe(Object key) {
    Subscription s = subscriptions.remove(key);
    if (s != null) stopUnused(s.credentials);
  }

  /** Whether a LISTEN connection for these credentials is currently established. */
  public boolean listening(DatabaseCredentials c) {
    JobNotificationListener l = listeners.get(c);
    return l != null && l.isConnected();
  }

  /**
   * Why LISTEN was given up for these credentials (the listen URL is a transaction pooler, where
   * a LISTEN succeeds and then never delivers), or empty; the scalers then poll only.
   */
  public java.util.Optional<String> refusal(DatabaseCredentials c) {
    JobNotificationListener l = listeners.get(c);
    return l == null ? java.util.Optional.empty() : l.refusal();
  }

  public long notificationsReceived() {
    return notifications.get();
  }

  private JobNotificationListener listen(DatabaseCredentials c) {
    JobNotificationListener l = new JobNotificationListener(
        () -> DriverManager.getConnection(c.listenJdbcUrl(), c.username(), c.password()), reconnectDelay)
        .onAnyJob(jobType -> dispatch(c, jobType))
        .onConnect(() -> {
          log.info("listening on {} at {}", JobNotificationListener.CHANNEL, c);
          subscriptions.values().stream().filter(s -> s.credentials.equals(c)).forEach(Subscription::trigger);
        });
    l.start();
    return l;
  }

  private void stopUnused(DatabaseCredentials c) {
    boolean used = subscriptions.values().stream().anyMatch(s -> s.credentials.equals(c));
    if (!used) {
      JobNotificationListener l = listeners.remove(c);
      if (l != null) l.close();
    }
  }

  private void dispatch(DatabaseCredentials c, String jobType) {
    notifications.incrementAndGet();
    for (Subscription s : subscriptions.values()) {
      if (s.credentials.equals(c) && (s.jobTypes.isEmpty() || s.jobTypes.contains(jobType))) s.trigger();
    }
  }

  @Override
  public void close() {
    subscriptions.clear();
    listeners.values().forEach(JobNotificationListener::close);
    listeners.clear();
    scheduler.shutdownNow();
  }
}
