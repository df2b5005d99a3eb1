package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.worker.WorkerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * render.yaml: Render Blueprint keys as in Render's spec, the worker a Docker background worker
 * with Render autoscaling off, the controller in Render mode, secrets only `sync: false`, and
 * every variable the processes need provided (the worker's checked by its own config class).
 */
class RenderBlueprintTest {

  /** Service fields of Render's Blueprint spec this file may use (a typo is a silent no-op on Render). */
  private static final Set<String> SERVICE_FIELDS = Set.of("type", "name", "runtime", "repo", "branch", "region",
      "plan", "dockerfilePath", "dockerContext", "dockerCommand", "rootDir", "numInstances", "scaling",
      "healthCheckPath", "maxShutdownDelaySeconds", "envVars", "autoDeploy", "autoDeployTrigger", "buildFilter",
      "preDeployCommand", "disk");

  private static JsonNode blueprint;

  @BeforeAll
  static void parse() throws IOException {
    blueprint = ChartRenderer.YAML.readTree(Tools.repoRoot().resolve("render.yaml").toFile());
  }

  @Test
  void servicesUseOnlyBlueprintFieldsAndTheRepositoryDockerfiles() {
    assertThat(blueprint.path("services")).hasSize(2);
    for (JsonNode service : blueprint.path("services")) {
      service.fieldNames().forEachRemaining(field ->
          assertThat(SERVICE_FIELDS).as("field %s of %s", field, service.path("name").asText()).contains(field));
      assertThat(service.path("runtime").asText()).isEqualTo("docker");
      assertThat(service.path("dockerContext").asText()).isEqualTo(".");
      assertThat(Files.isRegularFile(Tools.repoRoot().resolve(service.path("dockerfilePath").asText()))).isTrue();
    }
    assertThat(blueprint.fieldNames()).toIterable().containsExactlyInAnyOrder("envVarGroups", "services");
  }

  @Test
  void workerIsABackgroundWorkerWhoseCountTheControllerOwns() throws IOException {
    JsonNode worker = service("queuepilot-worker");
    Map<String, String> env = plainEnv(worker);

    assertThat(worker.path("type").asText()).isEqualTo("worker");
    assertThat(worker.path("dockerfilePath").asText()).isEqualTo("./worker/Dockerfile");
    assertThat(worker.has("scaling")).as("Render autoscaling off: the controller owns the count").isFalse();
    assertThat(worker.path("numInstances").asInt()).isEqualTo(1);
    assertThat(worker.has("healthCheckPath")).as("Render has no health checks for background workers").isFalse();
    int shutdownDelay = worker.path("maxShutdownDelaySeconds").asInt();
    assertThat(shutdownDelay).isLessThanOrEqualTo(300)
        .isGreaterThan(Integer.parseInt(env.get("QUEUEPILOT_GRACE_PERIOD_SECONDS")));
    assertThat(Files.readString(Tools.repoRoot().resolve("render.yaml")))
        .as("the reason is written down").contains("Render's autoscaling stays OFF");
  }

  @Test
  void controllerRunsInRenderModeAsOneHealthCheckedPrivateService() {
    JsonNode controller = service("queuepilot-controller");
    Map<String, String> env = plainEnv(controller);

    assertThat(controller.path("type").asText()).as("pserv: Render health-checks its port").isEqualTo("pserv");
    assertThat(controller.path("dockerfilePath").asText()).isEqualTo("./controller/Dockerfile");
    assertThat(controller.path("numInstances").asInt()).isEqualTo(1);
    assertThat(env).containsEntry("QUEUEPILOT_CONTROLLER_MODE", "render").containsEntry("QUEUEPILOT_LEADER_ELECTION", "false")
        .containsEntry("QUEUEPILOT_HTTP_PORT", "8081");
    assertThat(allKeys(controller)).containsAll(ProcessEnvironment.CONTROLLER_REQUIRED_RENDER);
    assertThat(allKeys(controller)).allSatisfy(k -> assertThat(ProcessEnvironment.CONTROLLER).contains(k));
  }

  @Test
  void secretsAreOnlyPromptedForNeverWrittenDown() {
    for (JsonNode service : blueprint.path("services")) {
      for (JsonNode var : service.path("envVars")) {
        if (var.has("fromGroup")) {
          assertThat(groupNames()).contains(var.path("fromGroup").asText());
          continue;
        }
        String key = var.path("key").asText();
        if (ProcessEnvironment.SECRETS.contains(key)) {
          assertThat(var.path("sync").isBoolean() && !var.path("sync").asBoolean()).as("%s sync: false", key).isTrue();
          assertThat(var.has("value")).as("%s has no value", key).isFalse();
        } else {
          assertThat(var.has("value") ^ var.has("sync")).as("%s has exactly one source", key).isTrue();
        }
      }
    }
    for (JsonNode group : blueprint.path("envVarGroups")) {
      for (JsonNode var : group.path("envVars")) {
        assertThat(ProcessEnvironment.SECRETS).as("no secret in env group").doesNotContain(var.path("key").asText());
        assertThat(var.has("value")).isTrue();
      }
    }
  }

  @Test
  void workerEnvironmentIsCompleteAndAcceptedByTheWorkersOwnConfiguration() {
    JsonNode worker = service("queuepilot-worker");
    assertThat(allKeys(worker)).containsAll(ProcessEnvironment.WORKER_REQUIRED_PRODUCTION);
    assertThat(allKeys(worker)).allSatisfy(k -> assertThat(ProcessEnvironment.WORKER).contains(k));

    // what Render will run with once the prompted secrets are filled in
    Map<String, String> env = new HashMap<>(plainEnv(worker));
    Map<String, String> prompted = Map.of(
        "QUEUEPILOT_DB_URL", "jdbc:postgresql://aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        "QUEUEPILOT_DB_USER", "queuepilot_worker_1", "QUEUEPILOT_DB_PASSWORD", "prompted",
        "QUEUEPILOT_DB_LISTEN_URL", "jdbc:postgresql://db.abcdefghijklmnop.supabase.co:5432/postgres",
        "OPENAI_API_KEY", "sk-prompted", "SUPABASE_URL", "https://abcdefghijklmnop.supabase.co",
        "SUPABASE_SERVICE_ROLE_KEY", "prompted");
    worker.path("envVars").forEach(v -> {
      if (v.path("sync").isBoolean()) {
        assertThat(prompted).as("test value for prompted %s", v.path("key").asText()).containsKey(v.path("key").asText());
        env.put(v.path("key").asText(), prompted.get(v.path("key").asText()));
      }
    });
    WorkerConfig config = WorkerConfig.from(env);
    assertThat(config.processor()).isEqualTo(WorkerConfig.ProcessorKind.OPENAI);
    assertThat(config.store()).isEqualTo(WorkerConfig.StoreKind.SUPABASE);
    assertThat(config.lanes()).containsExactly("ai");
    assertThat(config.concurrency()).isEqualTo(4);
    assertThat(config.gracePeriod()).hasSeconds(60);
  }

  private static JsonNode service(String name) {
    for (JsonNode service : blueprint.path("services")) {
      if (name.equals(service.path("name").asText())) {
        return service;
      }
    }
    throw new AssertionError("no service " + name + " in render.yaml");
  }

  private static Set<String> groupNames() {
    Set<String> names = new java.util.HashSet<>();
    blueprint.path("envVarGroups").forEach(g -> names.add(g.path("name").asText()));
    return names;
  }

  /** Literal values of a service, its env groups' first. */
  private static Map<String, String> plainEnv(JsonNode service) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode var : service.path("envVars")) {
      if (var.has("fromGroup")) {
        blueprint.path("envVarGroups").forEach(g -> {
          if (g.path("name").asText().equals(var.path("fromGroup").asText())) {
            g.path("envVars").forEach(v -> env.put(v.path("key").asText(), v.path("value").asText()));
          }
        });
      } else if (var.has("value")) {
        env.put(var.path("key").asText(), var.path("value").asText());
      }
    }
    return env;
  }

  private static Set<String> allKeys(JsonNode service) {
    Set<String> keys = new java.util.HashSet<>(plainEnv(service).keySet());
    service.path("envVars").forEach(v -> {
      if (v.has("key")) {
        keys.add(v.path("key").asText());
      }
    });
    return keys;
  }
}
