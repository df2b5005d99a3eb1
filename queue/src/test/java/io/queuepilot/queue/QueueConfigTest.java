package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** QueueConfig parsing: defaults, validation naming the bad key, the LISTEN decision. */
class QueueConfigTest {

  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>();
    m.put(QueueConfig.DB_URL, "jdbc:postgresql://db:5432/postgres");
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void defaults() {
    QueueConfig c = QueueConfig.from(env());
    assertThat(c.poolSize()).isEqualTo(QueueConfig.DEFAULT_POOL_SIZE);
    assertThat(c.preparedStatements()).isTrue();
    assertThat(c.user()).isNull();
    assertThat(c.listenUrl()).isNull();
    assertThat(c.effectiveListenUrl()).contains("jdbc:postgresql://db:5432/postgres");
    assertThat(QueueConfig.KEYS).containsKeys(QueueConfig.DB_URL, QueueConfig.DB_USER, QueueConfig.DB_PASSWORD,
        QueueConfig.DB_POOL_SIZE, QueueConfig.DB_PREPARED_STATEMENTS, QueueConfig.DB_LISTEN_URL);
  }

  @Test
  void badValuesFailFastNamingTheKey() {
    Map<String, String> noUrl = env();
    noUrl.remove(QueueConfig.DB_URL);
    assertThatThrownBy(() -> QueueConfig.from(noUrl)).hasMessageStartingWith("QUEUEPILOT_DB_URL: required");
    assertThatThrownBy(() -> QueueConfig.from(env(QueueConfig.DB_URL, "postgres://db/x")))
        .hasMessageStartingWith("QUEUEPILOT_DB_URL: must start with jdbc:postgresql://");
    assertThatThrownBy(() -> QueueConfig.from(env(QueueConfig.DB_POOL_SIZE, "ten")))
        .hasMessageStartingWith("QUEUEPILOT_DB_POOL_SIZE: must be an integer, got 'ten'");
    assertThatThrownBy(() -> QueueConfig.from(env(QueueConfig.DB_POOL_SIZE, "0")))
        .hasMessageStartingWith("QUEUEPILOT_DB_POOL_SIZE: must be between 1 and 200");
    assertThatThrownBy(() -> QueueConfig.from(env(QueueConfig.DB_PREPARED_STATEMENTS, "no")))
        .hasMessageStartingWith("QUEUEPILOT_DB_PREPARED_STATEMENTS: must be true or false, got 'no'");
    assertThatThrownBy(() -> QueueConfig.from(env(QueueConfig.DB_LISTEN_URL, "http://x")))
        .hasMessageStartingWith("QUEUEPILOT_DB_LISTEN_URL: must start with jdbc:postgresql://");
  }

  @Test
  void listenUrlDecision() {
    assertThat(QueueConfig.from(env(QueueConfig.DB_PREPARED_STATEMENTS, "false")).effectiveListenUrl()).isEmpty();
    assertThat(QueueConfig.from(env(QueueConfig.DB_URL, "jdbc:postgresql://x.pooler.supabase.com:6543/postgres"))
        .effectiveListenUrl()).isEmpty();
    assertThat(QueueConfig.from(env(QueueConfig.DB_URL, "jdbc:postgresql://x.pooler.supabase.com:5432/postgres"))
        .effectiveListenUrl()).isPresent();
    assertThat(QueueConfig.from(env(QueueConfig.DB_PREPARED_STATEMENTS, "FALSE",
        QueueConfig.DB_LISTEN_URL, "jdbc:postgresql://direct:5432/postgres")).effectiveListenUrl())
        .contains("jdbc:postgresql://direct:5432/postgres");
  }

  @Test
  void toStringHidesThePassword() {
    assertThat(QueueConfig.from(env(QueueConfig.DB_PASSWORD, "s3cret")).toString())
        .doesNotContain("s3cret")
        .contains("password=***");
  }
}
