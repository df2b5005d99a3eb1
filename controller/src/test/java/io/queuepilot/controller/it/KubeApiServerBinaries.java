package io.queuepilot.controller.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where tools/k8s/prepare.sh put kube-apiserver and etcd for kube-api-test
 * ({@code ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<version>-<os>-<arch>/}).
 */
final class KubeApiServerBinaries {

  private KubeApiServerBinaries() {}

  static Path root() {
    String dir = System.getenv("KUBE_API_TEST_DIR");
    return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** The directory holding both binaries, when there is one. */
  static Optional<Path> find() {
    Path k8s = root().resolve("k8s");
    if (!Files.isDirectory(k8s)) return Optional.empty();
    try (Stream<Path> dirs = Files.list(k8s)) {
      return dirs.filter(d -> Files.isExecutable(d.resolve("kube-apiserver")) && Files.isExecutable(d.resolve("etcd")))
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static String missingMessage() {
    return "kube-apiserver/etcd not found under " + root().resolve("k8s")
        + "/<version>-linux-amd64/: run tools/k8s/prepare.sh (scripts/test.sh and .ci/run do it) to build them";
  }
}
