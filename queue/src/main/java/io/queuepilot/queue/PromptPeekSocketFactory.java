package io.queuepilot.queue;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.SocketFactory;

/**
 * The LISTEN connection's sockets (pgjdbc property {@code socketFactory}): they answer pgjdbc's
 * "is another message pending?" peek at once instead of after a 1 ms wait.
 *
 * <p>Why: {@code PGConnection.getNotifications(timeout)} blocks on the socket until a notification
 * arrives, then, before returning it, asks {@code PGStream.hasMessagePending()}, which (pgjdbc
 * 42.7.8) sets {@code SO_TIMEOUT} to 1 ms and tries to read one byte. With nothing else pending —
 * the usual case — that read times out, so every wake-up reached the worker 1 ms (plus the
 * timer's slack) after it arrived: a third of the enqueue → handler start median on the bench.
 * These sockets treat a read under a 1 ms timeout with no byte available in the kernel's receive
 * buffer as that timeout, immediately. Bytes are never consumed or dropped: a byte that arrives
 * right after the check is read by the next {@code getNotifications} call. Every other read
 * (any other timeout, or bytes available) goes to the socket unchanged. Only the dedicated LISTEN
 * connection uses this factory ({@link QueueDataSources#openListenConnection}).
 */
public final class PromptPeekSocketFactory extends SocketFactory {

  /** pgjdbc's peek timeout in {@code PGStream.hasMessagePending}. */
  static final int PEEK_TIMEOUT_MILLIS = 1;

  private static final AtomicLong PROMPT_PEEKS = new AtomicLong();

  /** pgjdbc instantiates the factory by class name. */
  public PromptPeekSocketFactory() {}

  /** Peeks answered at once so far (all sockets of this JVM): readiness and tests. */
  public static long promptPeeks() {
    return PROMPT_PEEKS.get();
  }

  @Override
  public Socket createSocket() {
    return new PromptPeekSocket();
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return connected(null, new InetSocketAddress(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    return connected(new InetSocketAddress(localHost, localPort), new InetSocketAddress(host, port));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return connected(null, new InetSocketAddress(host, port));
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
    return connected(new InetSocketAddress(localAddress, localPort), new InetSocketAddress(address, port));
  }

  /** pgjdbc calls {@link #createSocket()} and connects itself; the other forms connect here. */
  private Socket connected(InetSocketAddress local, InetSocketAddress remote) throws IOException {
    Socket s = createSocket();
    if (local != null) {
      s.bind(local);
    }
    s.connect(remote);
    return s;
  }

  /** A plain TCP socket whose reads under the peek timeout do not wait when nothing is there. */
  static final class PromptPeekSocket extends Socket {
    private volatile int readTimeout;

    @Override
    public synchronized void setSoTimeout(int timeout) throws SocketException {
      super.setSoTimeout(timeout);
      readTimeout = timeout;
    }

    @Override
    public InputStream getInputStream() throws IOException {
      InputStream raw = super.getInputStream();
      return new FilterInputStream(raw) {
        @Override
        public int read() throws IOException {
          answerPeekAtOnce(raw);
          return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          answerPeekAtOnce(raw);
          return super.read(b, off, len);
        }
      };
    }

    private void answerPeekAtOnce(InputStream raw) throws IOException {
      if (readTimeout == PEEK_TIMEOUT_MILLIS && raw.available() == 0) {
        PROMPT_PEEKS.incrementAndGet();
        throw new SocketTimeoutException("nothing pending (answered without the 1 ms wait)");
      }
    }
  }
}
