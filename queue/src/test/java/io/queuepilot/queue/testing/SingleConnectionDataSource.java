package io.queuepilot.queue.testing;

import io.queuepilot.queue.sql.ConnectionSource;
import java.lang.reflect.Proxy;
import java.sql.Connection;

/**
 * Test data source handing out one already-open connection (closing it is a no-op), so a
 * thread's every call runs on its own dedicated connection.
 */
public final class SingleConnectionDataSource extends ConnectionSource {

  private final Connection connection;

  public SingleConnectionDataSource(Connection target) {
    this.connection =
        (Connection)
            Proxy.newProxyInstance(
                Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("close")) {
                    return null;
                  }
                  try {
                    return method.invoke(target, args);
                  } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
  }

  @Override
  public Connection getConnection() {
    return connection;
  }
}
