package io.queuepilot.controller.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs on {@code queuepilot_jobs} once per database and wakes every subscriber whose job
 * types match the NOTIFY payload (the enqueued job's type). Each database gets one daemon
 * thread with a dedicated connection that reconnects with back-off; failures are logged and
 * counted, and polling still covers the gap.
 */
public final class NotificationHub implements AutoCloseable {

  public static final String CHANNEL = "queuepilot_jobs";
  private static final Logger log = LoggerFactory.getLogger(NotificationHub.class);

  private record Subscription(DatabaseCredentials credentials, List<String> jobTypes, Runnable wake) {}

  private final Map<Object, Subscription> subscriptions = new ConcurrentHashMap<>();
  private final Map<DatabaseCredentials, Listener> listeners = new ConcurrentHashMap<>();
  private final AtomicLong notifications = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final Duration reconnectDelay;

  public NotificationHub(Duration reconnectDelay) {
    this.reconnectDelay = reconnectDelay;
  }

  /** Subscribes (or re-subscribes) {@code key}: {@code wake} runs on each matching NOTIFY. */
  public void subscribe(Object key, DatabaseCredentials c, List<String> jobTypes, Runnable wake) {
    Subscription previous = subscriptions.put(key, new Subscription(c, List.copyOf(jobTypes), wake));
    listeners.computeIfAbsent(c, Listener::new);
    if (previous != null && !previous.credentials().equals(c)) stopUnused(previous.credentials());
  }

  public void unsubscribe(Object key) {
    Subscription s = subscriptions.remove(key);
    if (s != null) stopUnused(s.credentials());
  }

  /** Whether a LISTEN connection for these credentials is currently established. */
  public boolean listening(DatabaseCredentials c) {
    Listener l = listeners.get(c);
    return l != null && l.connected;
  }

  public long notificationsReceived() {
    return notifications.get();
  }

  public long listenFailures() {
    return failures.get();
  }

  private void stopUnused(DatabaseCredentials c) {
    boolean used = subscriptions.values().stream().anyMatch(s -> s.credentials().equals(c));
    if (!used) {
      Listener l = listeners.remove(c);
      if (l != null) l.stop();
    }
  }

  private void dispatch(DatabaseCredentials c, String jobType) {
    notifications.incrementAndGet();
    for (Subscription s : subscriptions.values()) {
      if (s.credentials().equals(c) && (s.jobTypes().isEmpty() || s.jobTypes().contains(jobType))) {
        try {
          s.wake().run();
        } catch (RuntimeException e) {
          log.warn("waking a scaler on NOTIFY {} failed", jobType, e);
        }
      }
    }
  }

  @Override
  public void close() {
    subscriptions.clear();
    listeners.values().forEach(Listener::stop);
    listeners.clear();
  }

  private final class Listener implements Runnable {
    private final DatabaseCredentials credentials;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean connected;
    private volatile Connection connection;

    Listener(DatabaseCredentials credentials) {
      this.credentials = credentials;
      this.thread = Thread.ofPlatform().daemon().name("queuepilot-listen-" + credentials.username()).start(this);
    }

    @Override
    public void run() {
      while (running) {
        try (Connection c = DriverManager.getConnection(credentials.listenJdbcUrl(), credentials.username(),
            credentials.password())) {
          connection = c;
          try (Statement st = c.createStatement()) {
            st.execute("LISTEN " + CHANNEL);
          }
          connected = true;
          log.info("listening on {} at {}", CHANNEL, credentials);
          PGConnection pg = c.unwrap(PGConnection.class);
          while (running) {
            PGNotification[] batch = pg.getNotifications(1_000);
            if (batch == null) continue;
            for (PGNotification n : batch) dispatch(credentials, n.getParameter());
          }
        } catch (SQLException | RuntimeException e) {
          connected = false;
          if (!running) break;
          failures.incrementAndGet();
          log.warn("LISTEN {} at {} failed, reconnecting in {}: {}", CHANNEL, credentials, reconnectDelay, e.toString());
          try {
            Thread.sleep(reconnectDelay);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            break;
          }
        } finally {
          connected = false;
          connection = null;
        }
      }
    }

    void stop() {
      running = false;
      Connection c = connection;
      if (c != null) {
        try {
          c.close();
        } catch (SQLException e) {
          log.debug("closing LISTEN connection", e);
        }
      }
      thread.interrupt();
    }
  }
}
