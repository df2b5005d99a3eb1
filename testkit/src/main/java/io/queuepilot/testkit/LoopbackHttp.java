package io.queuepilot.testkit;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** What the loopback fakes share: answering an exchange with a JSON body. */
final class LoopbackHttp {

  private LoopbackHttp() {}

  /** Sends {@code status} with {@code body} as {@code application/json} (after any headers the caller set) and closes the body. */
  static void sendJson(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
