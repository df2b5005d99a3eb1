package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The compiler directives of the default JIT policy ({@link JitPolicies#DIRECTIVES_RESOURCE},
 * docs/worker.md "JIT policy"): HotSpot accepts them, and every package the document pipeline
 * imports beyond the general-purpose JDK and the project's own code keeps C2.
 */
class QueueRuntimeDirectivesTest {

  static final Path DIRECTIVES = Path.of("src/main/resources" + JitPolicies.DIRECTIVES_RESOURCE);
  static final Path PIPELINE = Path.of("src/main/java/io/queuepilot/worker/process");

  /**
   * Imports left to C1 on purpose: collections, I/O, time, logging and the project's own runtime.
   * {@code java.util.zip}, {@code java.util.Base64} and the pipeline itself are listed for C2 and
   * checked like any library.
   */
  static final List<String> GENERAL = List.of("java.lang.", "java.util.", "java.io.", "java.nio.", "java.time.",
      "org.slf4j.", "io.queuepilot.");
  static final List<String> LISTED_ANYWAY = List.of("java.util.zip.", "java.util.Base64", "io.queuepilot.worker.process.");

  private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([a-zA-Z0-9_.]+)\\s*;", Pattern.MULTILINE);

  @Test
  void theJvmAcceptsTheShippedDirectives() throws Exception {
    Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
        "-XX:+UnlockDiagnosticVMOptions", "-XX:CompilerDirectivesFile=" + DIRECTIVES.toAbsolutePath(), "-version")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("2 compiler directives added");
  }

  @Test
  void everyLibraryTheDocumentPipelineImportsKeepsC2() throws Exception {
    JsonNode directives = JsonMapper.builder().enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES).build()
        .readTree(DIRECTIVES.toFile());
    assertThat(directives).hasSize(2);
    JsonNode keep = directives.get(0);
    assertThat(keep.path("c2").path("Exclude").asBoolean(true)).as("the first directive keeps C2").isFalse();
    JsonNode rest = directives.get(1);
    assertThat(rest.path("match").asText()).isEqualTo("*.*");
    assertThat(rest.path("c2").path("Exclude").asBoolean(false)).as("everything else: C1 only").isTrue();
    List<String> prefixes = new ArrayList<>();
    keep.path("match").forEach(m -> prefixes.add(m.asText().replace("*.*", "").replace('/', '.')));

    Set<String> uncovered = new TreeSet<>();
    for (String imported : imports(PIPELINE)) {
      boolean general = GENERAL.stream().anyMatch(imported::startsWith)
          && LISTED_ANYWAY.stream().noneMatch(imported::startsWith);
      if (!general && prefixes.stream().noneMatch(imported::startsWith)) {
        uncovered.add(imported);
      }
    }
    assertThat(uncovered).as("imported by the document pipeline but compiled by C1 only under the directives:"
        + " add their packages to the first directive of " + DIRECTIVES).isEmpty();
    assertThat(prefixes).as("the pipeline's own classes").contains("io.queuepilot.worker.process.");
  }

  private static Set<String> imports(Path dir) throws IOException {
    Set<String> out = new TreeSet<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.filter(x -> x.toString().endsWith(".java"))::iterator) {
        Matcher m = IMPORT.matcher(Files.readString(f));
        while (m.find()) {
          out.add(m.group(1));
        }
      }
    }
    assertThat(out).as("the pipeline's sources were read").isNotEmpty();
    return out;
  }
}
