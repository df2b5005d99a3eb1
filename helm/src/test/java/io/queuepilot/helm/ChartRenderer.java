package io.queuepilot.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Renders the chart with `helm template` and parses the manifests into JSON trees. */
final class ChartRenderer {

  static final ObjectMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration TIMEOUT = Duration.ofMinutes(2);

  private final List<String> args = new ArrayList<>();

  private ChartRenderer() {}

  static ChartRenderer chart() {
    return new ChartRenderer();
  }

  ChartRenderer values(String ciFile) {
    args.add("-f");
    args.add(Tools.chartDir().resolve("ci").resolve(ciFile).toString());
    return this;
  }

  ChartRenderer set(String key, String value) {
    args.add("--set");
    args.add(key + "=" + value);
    return this;
  }

  ChartRenderer apiVersion(String apiVersion) {
    args.add("--api-versions");
    args.add(apiVersion);
    return this;
  }

  /** Renders and requires success. */
  Manifests render() {
    return Manifests.parse(run().requireSuccess().stdout());
  }

  /** Renders and returns the raw result (for the tests of refused values). */
  Tools.Result run() {
    List<String> command = Tools.command(Tools.helm(), "template", "qp", Tools.chartDir().toString(),
        "--namespace", "queuepilot");
    command.addAll(args);
    return Tools.run(TIMEOUT, Map.of(), command);
  }

  /** The objects of one rendering. */
  record Manifests(List<JsonNode> objects) {

    static Manifests parse(String yaml) {
      List<JsonNode> objects = new ArrayList<>();
      try (var parser = new YAMLFactory().createParser(yaml)) {
        var it = YAML.readValues(parser, JsonNode.class);
        while (it.hasNext()) {
          JsonNode node = it.next();
          if (node != null && node.isObject() && node.has("kind")) {
            objects.add(node);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("helm template produced invalid YAML", e);
      }
      return new Manifests(List.copyOf(objects));
    }

    List<JsonNode> ofKind(String kind) {
      return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
    }

    Optional<JsonNode> find(String kind, String name) {
      return ofKind(kind).stream().filter(o -> name.equals(o.path("metadata").path("name").asText())).findFirst();
    }

    JsonNode get(String kind, String name) {
      return find(kind, name).orElseThrow(() -> new AssertionError("no " + kind + " named " + name + " in "
          + objects.stream().map(o -> o.path("kind").asText() + "/" + o.path("metadata").path("name").asText()).toList()));
    }
  }

  /** Container env as name → env entry. */
  static Map<String, JsonNode> env(JsonNode container) {
    Map<String, JsonNode> env = new java.util.LinkedHashMap<>();
    container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
    return env;
  }

  static JsonNode onlyContainer(JsonNode deployment) {
    JsonNode containers = deployment.path("spec").path("template").path("spec").path("containers");
    if (containers.size() != 1) {
      throw new AssertionError("expected one container in " + deployment.path("metadata").path("name"));
    }
    return containers.get(0);
  }

  static ObjectNode readJson(String json) {
    try {
      return (ObjectNode) JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path ciValues(String name) {
    return Tools.chartDir().resolve("ci").resolve(name);
  }
}
