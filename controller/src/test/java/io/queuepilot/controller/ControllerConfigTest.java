package io.queuepilot.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The controller's one configuration class: defaults, validation, errors naming the key. */
class ControllerConfigTest {

  @Test
  void kubernetesModeDefaults() {
    ControllerConfig c = ControllerConfig.from(Map.of("POD_NAMESPACE", "queuepilot", "POD_NAME", "ctl-0"));
    assertThat(c.mode()).isEqualTo(ControllerConfig.Mode.KUBERNETES);
    assertThat(c.leaderElection()).isTrue();
    assertThat(c.httpPort()).isEqualTo(8081);
    assertThat(c.httpBindAddress()).isEqualTo("0.0.0.0");
    assertThat(c.watchNamespaces()).containsExactly("queuepilot");
    assertThat(c.podName()).isEqualTo("ctl-0");
    assertThat(c.renderApiUrl().toString()).isEqualTo("https://api.render.com");
    assertThat(c.logFormat()).isEqualTo("text");
    assertThat(c.database()).isNull();
  }

  @Test
  void watchNamespacesOverrideAndAllNamespacesWithoutLeaderElection() {
    assertThat(ControllerConfig.from(Map.of("POD_NAMESPACE", "a", "QUEUEPILOT_WATCH_NAMESPACES", "b, c")).watchNamespaces())
        .containsExactly("b", "c");
    ControllerConfig dev = ControllerConfig.from(Map.of("QUEUEPILOT_LEADER_ELECTION", "false"));
    assertThat(dev.watchNamespaces()).isEmpty();
    assertThat(dev.leaderElection()).isFalse();
  }

  @Test
  void httpBindAddressTakesIpLiteralsOnly() {
    assertThat(ControllerConfig.from(Map.of("QUEUEPILOT_LEADER_ELECTION", "false", "QUEUEPILOT_HTTP_BIND_ADDRESS", "::1"))
        .httpBindAddress()).isEqualTo("::1");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_LEADER_ELECTION", "false",
        "QUEUEPILOT_HTTP_BIND_ADDRESS", "metrics.internal")))
        .hasMessageStartingWith("QUEUEPILOT_HTTP_BIND_ADDRESS: must be an IP address");
  }

  @Test
  void badValuesNameTheKey() {
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "swarm")))
        .hasMessageStartingWith("QUEUEPILOT_CONTROLLER_MODE:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("POD_NAMESPACE", "n", "QUEUEPILOT_HTTP_PORT", "80a")))
        .hasMessageStartingWith("QUEUEPILOT_HTTP_PORT:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("POD_NAMESPACE", "n", "QUEUEPILOT_LEADER_ELECTION", "yes")))
        .hasMessageStartingWith("QUEUEPILOT_LEADER_ELECTION:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of()))
        .hasMessageStartingWith("POD_NAMESPACE:").hasMessageContaining("QUEUEPILOT_LEADER_ELECTION=false");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("POD_NAMESPACE", "n", "QUEUEPILOT_LOG_FORMAT", "xml")))
        .hasMessageStartingWith("QUEUEPILOT_LOG_FORMAT:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("POD_NAMESPACE", "n", "RENDER_API_URL", "ftp://x")))
        .hasMessageStartingWith("RENDER_API_URL:");
  }

  @Test
  void renderModeNeedsConfigFileKeyAndDatabase(@TempDir Path dir) throws Exception {
    Path yaml = Files.writeString(dir.resolve("scaler.yaml"), "scaleTargetRef: {kind: RenderService, name: srv-1}\n");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "render")))
        .hasMessageStartingWith("QUEUEPILOT_RENDER_CONFIG:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "render",
        "QUEUEPILOT_RENDER_CONFIG", dir.resolve("missing.yaml").toString())))
        .hasMessageStartingWith("QUEUEPILOT_RENDER_CONFIG:").hasMessageContaining("not readable");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "render",
        "QUEUEPILOT_RENDER_CONFIG", yaml.toString())))
        .hasMessageStartingWith("RENDER_API_KEY:");
    assertThatThrownBy(() -> ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "render",
        "QUEUEPILOT_RENDER_CONFIG", yaml.toString(), "RENDER_API_KEY", "k")))
        .hasMessageContaining("QUEUEPILOT_DB_URL");

    ControllerConfig c = ControllerConfig.from(Map.of("QUEUEPILOT_CONTROLLER_MODE", "render",
        "QUEUEPILOT_RENDER_CONFIG", yaml.toString(), "RENDER_API_KEY", "secret-key",
        "QUEUEPILOT_DB_URL", "jdbc:postgresql://db:5432/app", "QUEUEPILOT_DB_USER", "ctl", "QUEUEPILOT_DB_PASSWORD", "pw"));
    assertThat(c.mode()).isEqualTo(ControllerConfig.Mode.RENDER);
    assertThat(c.database().url()).isEqualTo("jdbc:postgresql://db:5432/app");
    assertThat(c.toString()).doesNotContain("secret-key").doesNotContain("pw,");
  }

  @Test
  void everyKeyIsDescribed() {
    assertThat(ControllerConfig.KEYS.keySet()).containsAll(List.of("QUEUEPILOT_CONTROLLER_MODE", "QUEUEPILOT_RENDER_CONFIG",
        "RENDER_API_KEY", "RENDER_API_URL", "POD_NAMESPACE", "QUEUEPILOT_LEADER_ELECTION", "QUEUEPILOT_HTTP_PORT",
        "QUEUEPILOT_LOG_FORMAT", "QUEUEPILOT_DB_URL"));
    assertThat(ControllerConfig.KEYS.values()).allSatisfy(d -> assertThat(d).isNotBlank());
  }

  @Test
  void everyDefaultIsDeclaredOnceAndTheDocsStateIt() throws Exception {
    Map<String, String> none = Map.of("QUEUEPILOT_LEADER_ELECTION", "false");
    ControllerConfig defaults = ControllerConfig.from(none);
    assertThat(defaults.mode().name().toLowerCase()).isEqualTo(ControllerConfig.MODE_KEY.defaultValue());
    assertThat(defaults.renderApiUrl().toString()).isEqualTo(ControllerConfig.RENDER_API_URL_KEY.defaultValue());
    assertThat(String.valueOf(defaults.httpPort())).isEqualTo(ControllerConfig.HTTP_PORT_KEY.defaultValue());
    assertThat(defaults.httpBindAddress()).isEqualTo(ControllerConfig.HTTP_BIND_ADDRESS_KEY.defaultValue());
    assertThat(defaults.logFormat()).isEqualTo(ControllerConfig.LOG_FORMAT_KEY.defaultValue());
    assertThat(ControllerConfig.KEYS.get("QUEUEPILOT_HTTP_PORT")).endsWith("; default 8081");

    String docs = Files.readString(Path.of(System.getProperty("queuepilot.repoRoot", "..")).resolve("docs/controller.md"));
    for (ControllerConfig.Key k : ControllerConfig.OWN_KEYS) {
      assertThat(docs).as("docs/controller.md documents " + k.name()).contains("| `" + k.name() + "` |");
      if (k.defaultValue() != null) {
        assertThat(docs).as("docs/controller.md states the default of " + k.name())
            .contains("| `" + k.name() + "` | `" + k.defaultValue() + "` |");
      }
    }
  }
}
