package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.worker.WorkerConfig.JitPolicy;
import io.queuepilot.worker.process.PipelineHotLoop;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.ObjectName;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The opt-in JIT policy {@code pipeline} really changes what HotSpot compiles: once applied, a hot method of the
 * queue runtime is refused by C2 and compiled by C1 (tier 1) while its twin in the document
 * pipeline's package reaches C2 (tier 4), as JFR's compilation events show; applied once per JVM.
 */
class JitPoliciesTest {

  private static final short C1_FULL = 1; // C1 without profiling
  private static final short C2 = 4;

  @TempDir Path tmp;

  /** The queue runtime's twin of {@link PipelineHotLoop#spin}: same code, another package. */
  static int runtimeSpin(int seed, int steps) {
    int h = seed;
    for (int i = 0; i < steps; i++) {
      h = h * 31 + (i ^ (h >>> 7));
    }
    return h;
  }

  @Test
  void theQueueRuntimeIsCompiledByC1OnlyAndThePipelineByC2() throws Exception {
    JitPolicies.Outcome outcome = JitPolicies.apply(JitPolicy.PIPELINE, tmp);
    assertThat(outcome.applied()).as(outcome.detail()).isTrue();

    Set<Short> pipelineLevels = ConcurrentHashMap.newKeySet(); // tiers, standard or OSR compiles
    Set<Short> runtimeLevels = ConcurrentHashMap.newKeySet();
    try (RecordingStream compilations = new RecordingStream()) {
      compilations.enable("jdk.Compilation").withThreshold(Duration.ZERO);
      compilations.onEvent("jdk.Compilation", e -> {
        RecordedMethod m = e.getValue("method");
        short level = e.getShort("compileLevel");
        if (m.getName().equals("spin") && m.getType().getName().equals(PipelineHotLoop.class.getName())) {
          pipelineLevels.add(level);
        } else if (m.getName().equals("runtimeSpin") && m.getType().getName().equals(JitPoliciesTest.class.getName())) {
          runtimeLevels.add(level);
        }
      });
      compilations.startAsync();
      int[] sink = new int[1];
      // both methods run equally often until C2 has compiled the pipeline's and C1 the runtime's
      // at tier 1 (the tier HotSpot falls back to when C2 refuses a method; without the policy a
      // non-trivial method goes 0 -> 3 -> 4 and never reaches tier 1)
      await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
          .failFast("C2 compiled the queue runtime's method", () -> runtimeLevels.contains(C2)).until(() -> {
        for (int i = 0; i < 2_000; i++) {
          sink[0] += PipelineHotLoop.spin(i, 500) + runtimeSpin(i, 500);
        }
        return pipelineLevels.contains(C2) && runtimeLevels.contains(C1_FULL);
      });
      assertThat(sink[0]).isNotEqualTo(42); // the loops' result is used
    }
    assertThat(runtimeLevels).as("the queue runtime's method, tiers seen").doesNotContain(C2);
    assertThat(pipelineLevels).as("the pipeline's method, tiers seen").contains(C2);
  }

  @Test
  void theDirectivesAreAddedOncePerJvmAndTheJvmPolicyAddsNone() throws Exception {
    JitPolicies.Outcome first = JitPolicies.apply(JitPolicy.PIPELINE, tmp);
    JitPolicies.Outcome again = JitPolicies.apply(JitPolicy.PIPELINE, tmp);
    assertThat(first.applied()).as(first.detail()).isTrue();
    assertThat(first.detail()).contains("2 compiler directives added");
    assertThat(again).isEqualTo(first);
    assertThat(JitPolicies.apply(JitPolicy.JVM, tmp).applied()).isFalse();
    String stack = (String) ManagementFactory.getPlatformMBeanServer().invoke(
        new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesPrint",
        new Object[] {new String[0]}, new String[] {String[].class.getName()});
    assertThat(stack.split("org/apache/pdfbox/\\*\\.\\*", -1)).as(stack).hasSize(2); // one copy on the stack
  }

  @Test
  void theFileHotSpotReadIsRemovedFromTheTempDirectory() throws Exception {
    ObjectName diagnostics = new ObjectName("com.sun.management:type=DiagnosticCommand");
    JitPolicies.Outcome added = JitPolicies.addDirectives(tmp); // a second copy, popped below
    try {
      assertThat(added.applied()).as(added.detail()).isTrue();
      assertThat(tmp.toFile().list()).as("the temp file is gone").isEmpty();
    } finally {
      for (int i = 0; i < 2; i++) { // the file holds two directives; each remove pops the latest one
        ManagementFactory.getPlatformMBeanServer().invoke(diagnostics, "compilerDirectivesRemove",
            new Object[] {new String[0]}, new String[] {String[].class.getName()});
      }
    }
  }

  @Test
  void aDirectoryItCannotWriteIsReportedNotThrown() {
    Path missing = tmp.resolve("no-such-dir");
    JitPolicies.Outcome outcome = JitPolicies.addDirectives(missing);
    assertThat(outcome.applied()).isFalse();
    assertThat(outcome.detail()).contains("no-such-dir");
  }
}
