package io.queuepilot.helm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Runs helm against one cluster (a kubeconfig file) with its own, throw-away helm home. */
final class HelmCli {

  private static final Duration TIMEOUT = Duration.ofMinutes(3);

  private final Path kubeConfig;
  private final Map<String, String> env;

  HelmCli(Path kubeConfig) {
    this.kubeConfig = kubeConfig;
    try {
      Path home = Files.createTempDirectory("queuepilot-helm-home");
      this.env = Map.of(
          "HELM_CONFIG_HOME", home.resolve("config").toString(),
          "HELM_CACHE_HOME", home.resolve("cache").toString(),
          "HELM_DATA_HOME", home.resolve("data").toString(),
          "KUBECONFIG", kubeConfig.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** `helm upgrade --install` of the chart in the repository, with the given extra arguments. */
  Tools.Result upgradeInstall(String release, String namespace, String... args) {
    List<String> command = Tools.command(Tools.helm(), "upgrade", "--install", release, Tools.chartDir().toString(),
        "--namespace", namespace, "--create-namespace", "--kubeconfig", kubeConfig.toString());
    command.addAll(List.of(args));
    return Tools.run(TIMEOUT, env, command);
  }

  Tools.Result run(String... args) {
    List<String> command = new ArrayList<>(Tools.command(Tools.helm(), args));
    command.add("--kubeconfig");
    command.add(kubeConfig.toString());
    return Tools.run(TIMEOUT, env, command);
  }
}
