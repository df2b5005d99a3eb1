package io.queuepilot.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fault-injecting TCP proxy between worker processes and PostgreSQL (the suite's Toxiproxy):
 * forwards loopback connections to an upstream port that can be changed at run time, and can
 * <ul>
 *   <li>{@link #cutAll() cut} every open connection (TCP RST to both sides),</li>
 *   <li>add {@link #latency(Duration) latency} to every chunk the server sends back,</li>
 *   <li>{@link #blackhole(boolean) blackhole}: accept connections and keep them open but forward
 *       nothing in either direction until lifted — a network partition; bytes wait in the
 *       kernel buffers and flow again when the link returns, as after a real partition heals,</li>
 *   <li>{@link #slice(int) slice} every chunk into writes of a few bytes (short reads/writes).</li>
 * </ul>
 * Two platform threads per connection; the faults apply to open and new connections alike.
 */
public final class FaultProxy implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FaultProxy.class);

  private final String name;
  private final ServerSocket server;
  private final Thread acceptor;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition linkOpen = lock.newCondition();
  private volatile int upstreamPort;
  private volatile boolean blackholed;
  private volatile long latencyNanos;
  private volatile int sliceBytes;
  private volatile boolean closed;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger cutConnections = new AtomicInteger();
  private final AtomicLong bytesForwarded = new AtomicLong();

  private FaultProxy(String name, int upstreamPort) throws IOException {
    this.name = name;
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
    this.acceptor = Thread.ofPlatform().daemon(true).name("proxy-" + name + "-accept").unstarted(this::acceptLoop);
  }

  /** Starts a proxy on a free loopback port forwarding to {@code 127.0.0.1:upstreamPort}. */
  public static FaultProxy start(String name, int upstreamPort) throws IOException {
    FaultProxy p = new FaultProxy(name, upstreamPort);
    p.acceptor.start();
    return p;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** New connections go to this upstream port (PostgreSQL restarted elsewhere). */
  public void upstream(int port) {
    this.upstreamPort = port;
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Connections cut by {@link #cutAll()} so far. */
  public int cutConnections() {
    return cutConnections.get();
  }

  public long bytesForwarded() {
    return bytesForwarded.get();
  }

  public int openLinks() {
    return links.size();
  }

  /** Resets every open connection (RST to client and server); returns how many were cut. */
  public int cutAll() {
    int n = 0;
    for (Link l : links.toArray(Link[]::new)) {
      if (l.reset()) {
        n++;
      }
    }
    cutConnections.addAndGet(n);
    log.info("proxy {}: cut {} connection(s)", name, n);
    return n;
  }

  /** Delay added to every chunk sent from the server back to the client (zero = none). */
  public void latency(Duration delay) {
    latencyNanos = delay.toNanos();
    log.info("proxy {}: latency {} ms", name, delay.toMillis());
  }

  /** Forward each chunk in writes of at most {@code bytes} (0 = whole chunks). */
  public void slice(int bytes) {
    sliceBytes = Math.max(0, bytes);
    log.info("proxy {}: slice {} bytes", name, bytes);
  }

  /** On: connections stay open but nothing is forwarded; off: the link returns. */
  public void blackhole(boolean on) {
    lock.lock();
    try {
      blackholed = on;
      if (!on) {
        linkOpen.signalAll();
      }
    } finally {
      lock.unlock();
    }
    log.info("proxy {}: blackhole {}", name, on ? "ON" : "off");
  }

  /** Removes every fault. */
  public void heal() {
    latency(Duration.ZERO);
    slice(0);
    blackhole(false);
  }

  private void awaitLink() throws InterruptedException {
    if (!blackholed) {
      return;
    }
    lock.lock();
    try {
      while (blackholed && !closed) {
        linkOpen.await(1, TimeUnit.SECONDS);
      }
    } finally {
      lock.unlock();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("proxy {}: accept failed", name, e);
        }
        continue;
      }
      connections.incrementAndGet();
      Thread.ofPlatform().daemon(true).name("proxy-" + name + "-connect").start(() -> connect(client));
    }
  }

  private void connect(Socket client) {
    try {
      client.setTcpNoDelay(true);
      awaitLink(); // a blackholed link accepts but does not reach the server
      Socket upstream = new Socket();
      upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort), 5_000);
      upstream.setTcpNoDelay(true);
      Link link = new Link(client, upstream);
      links.add(link);
      if (closed) {
        link.reset();
        return;
      }
      Thread.ofPlatform().daemon(true).name("proxy-" + name + "-up").start(() -> pump(link, client, upstream, false));
      Thread.ofPlatform().daemon(true).name("proxy-" + name + "-down").start(() -> pump(link, upstream, client, true));
    } catch (IOException | InterruptedException e) {
      // upstream down (e.g. PostgreSQL restarting): the client sees its connection closed
      closeQuietly(client);
    }
  }

  private void pump(Link link, Socket from, Socket to, boolean downstream) {
    byte[] buf = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        awaitLink();
        long delay = latencyNanos;
        if (downstream && delay > 0) {
          park(delay);
        }
        awaitLink();
        int slice = sliceBytes;
        if (slice > 0) {
          for (int off = 0; off < n; off += slice) {
            out.write(buf, off, Math.min(slice, n - off));
            out.flush();
          }
        } else {
          out.write(buf, 0, n);
          out.flush();
        }
        bytesForwarded.addAndGet(n);
      }
      // orderly end of one direction: pass the FIN on
      to.shutdownOutput();
    } catch (IOException | InterruptedException e) {
      link.reset();
    } finally {
      link.closeIfDone(); // the second direction to end closes both sockets
    }
  }

  private static void park(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    long left;
    while ((left = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already gone
    }
  }

  @Override
  public void close() {
    closed = true;
    blackhole(false);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Link l : links.toArray(Link[]::new)) {
      l.reset();
    }
  }

  /** One proxied connection. */
  private final class Link {
    final Socket client;
    final Socket upstream;
    private final AtomicInteger done = new AtomicInteger();
    private volatile boolean gone;

    Link(Socket client, Socket upstream) {
      this.client = client;
      this.upstream = upstream;
    }

    /** Closes both sockets with SO_LINGER 0 (RST); true when this call cut a live link. */
    boolean reset() {
      synchronized (this) {
        if (gone) {
          return false;
        }
        gone = true;
      }
      links.remove(this);
      for (Socket s : new Socket[] {client, upstream}) {
        try {
          s.setSoLinger(true, 0);
        } catch (SocketException ignored) {
          // already closed
        }
        closeQuietly(s);
      }
      return true;
    }

    void closeIfDone() {
      if (done.incrementAndGet() >= 2) {
        synchronized (this) {
          if (gone) {
            return;
          }
          gone = true;
        }
        links.remove(this);
        closeQuietly(client);
        closeQuietly(upstream);
      }
    }
  }
}
