package io.queuepilot.helm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Locates the command-line tools the chart tests drive (helm, kubectl from tools/helm/prepare.sh)
 * and the repository files under test, and runs a tool as a child process with a timeout.
 */
final class Tools {

  private Tools() {}

  /** Result of one finished tool run. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    Result requireSuccess() {
      if (exitCode != 0) {
        throw new AssertionError(String.join(" ", command) + " exited " + exitCode
            + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
      }
      return this;
    }
  }

  /** Directory holding helm and kubectl: $QUEUEPILOT_TOOLS_CACHE/bin, else the build's property. */
  static Path binDir() {
    String cache = System.getenv("QUEUEPILOT_TOOLS_CACHE");
    if (cache != null && !cache.isBlank()) {
      return Path.of(cache, "bin");
    }
    return Path.of(System.getProperty("queuepilot.tools.bin",
        System.getProperty("user.home") + "/.cache/queuepilot/bin"));
  }

  static Path helm() {
    return tool("helm");
  }

  static Path tool(String name) {
    Path path = binDir().resolve(name);
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(name + " not found at " + path
          + ": run tools/*/prepare.sh (scripts/test.sh does it) or set QUEUEPILOT_TOOLS_CACHE");
    }
    return path;
  }

  static Path repoRoot() {
    return Path.of(System.getProperty("queuepilot.repo.root", "..")).toAbsolutePath().normalize();
  }

  static Path chartDir() {
    return repoRoot().resolve("helm/queuepilot");
  }

  static Result run(Duration timeout, Map<String, String> env, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    try {
      Process process = builder.start();
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(process.getInputStream()));
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout);
      }
      return new Result(List.copyOf(command), process.exitValue(), out.get(), err.get());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot read the output of " + command, e);
    }
  }

  static List<String> command(Path tool, String... args) {
    List<String> command = new ArrayList<>();
    command.add(tool.toString());
    command.addAll(List.of(args));
    return command;
  }

  private static String read(InputStream stream) {
    try (stream) {
      return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
