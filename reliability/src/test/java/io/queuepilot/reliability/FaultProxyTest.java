package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fault proxy itself, against a loopback echo server: forward, cut, delay, blackhole, slice, re-point. */
class FaultProxyTest {

  private ServerSocket echo;
  private FaultProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = echoServer();
    proxy = FaultProxy.start("test", echo.getLocalPort());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  static ServerSocket echoServer() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon(true).start(() -> {
      while (!s.isClosed()) {
        try {
          Socket c = s.accept();
          Thread.ofPlatform().daemon(true).start(() -> {
            try (c; InputStream in = c.getInputStream(); OutputStream out = c.getOutputStream()) {
              in.transferTo(out);
            } catch (IOException ignored) {
              // client went away
            }
          });
        } catch (IOException e) {
          return;
        }
      }
    });
    return s;
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    s.setSoTimeout(5_000);
    return s;
  }

  private static String roundTrip(Socket s, String msg) throws IOException {
    byte[] b = msg.getBytes(StandardCharsets.UTF_8);
    s.getOutputStream().write(b);
    s.getOutputStream().flush();
    return new String(s.getInputStream().readNBytes(b.length), StandardCharsets.UTF_8);
  }

  @Test
  void forwardsBothWays() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "hello")).isEqualTo("hello");
      assertThat(proxy.connections()).isEqualTo(1);
      // counted after each write, so possibly just after the client read the echo
      await().atMost(Duration.ofSeconds(5)).until(() -> proxy.bytesForwarded() == 10);
    }
  }

  @Test
  void cutResetsOpenConnectionsAndNewOnesStillWork() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "before")).isEqualTo("before");
      assertThat(proxy.cutAll()).isEqualTo(1);
      assertThatThrownBy(() -> {
        roundTrip(s, "after");
        if (s.getInputStream().read() < 0) {
          throw new IOException("closed");
        }
      }).isInstanceOf(IOException.class);
    }
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "again")).isEqualTo("again");
    }
    assertThat(proxy.cutConnections()).isEqualTo(1);
  }

  @Test
  void latencyDelaysEveryResponse() throws IOException {
    proxy.latency(Duration.ofMillis(300));
    try (Socket s = connect()) {
      long t0 = System.nanoTime();
      assertThat(roundTrip(s, "slow")).isEqualTo("slow");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }
  }

  @Test
  void blackholeHoldsBytesUntilTheLinkReturnsAndLosesNothing() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "up")).isEqualTo("up");
      proxy.blackhole(true);
      s.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
      s.setSoTimeout(500);
      assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
      try (Socket fresh = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
        fresh.setSoTimeout(300);
        fresh.getOutputStream().write("new".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> fresh.getInputStream().read()).as("new connections are accepted but not served")
            .isInstanceOf(SocketTimeoutException.class);
      }
      proxy.blackhole(false);
      s.setSoTimeout(5_000);
      assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.UTF_8)).isEqualTo("held");
    }
  }

  @Test
  void slicedChunksArriveIntact() throws IOException {
    proxy.slice(3);
    String msg = "x".repeat(1000) + "end";
    try (Socket s = connect()) {
      assertThat(roundTrip(s, msg)).isEqualTo(msg);
    }
  }

  @Test
  void upstreamCanBeRepointed() throws IOException {
    try (ServerSocket second = echoServer()) {
      echo.close();
      proxy.upstream(second.getLocalPort());
      try (Socket s = connect()) {
        assertThat(roundTrip(s, "moved")).isEqualTo("moved");
      }
    }
  }
}
