package io.queuepilot.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The live view: redrawn in place on a terminal, plain throttled lines elsewhere. */
class ProgressDisplayTest {

  private static ProgressDisplay.Frame frame(double t, long done, String reason) {
    return new ProgressDisplay.Frame(t, 40, 40, 10, 8, done, 2, 4, 4, "max", reason, 5.5, 120);
  }

  @Test
  void onATerminalEachFrameRedrawsTheSameBlockInPlace() {
    StringWriter s = new StringWriter();
    ProgressDisplay d = new ProgressDisplay(new PrintWriter(s), true);
    d.show(frame(1.0, 10, "x".repeat(300)), false);
    String first = s.toString();
    assertThat(first).doesNotContain("\033[6F"); // nothing to go back over yet
    assertThat(first.lines()).hasSize(6);
    d.show(frame(1.25, 20, "steady"), false);
    String second = s.toString().substring(first.length());
    assertThat(second).startsWith("\033[6F"); // back to the top of the block
    assertThat(second.split("\033\\[2K", -1)).hasSize(7); // every line cleared before it is rewritten
    assertThat(second).contains("22/40").contains("limitedBy=max").contains("8 processing");
    for (String line : (first + second).replaceAll("\033\\[[0-9;]*[A-Za-z]", "").lines().toList()) {
      assertThat(line.length()).as(line).isLessThanOrEqualTo(80);
    }
  }

  @Test
  void theReasonWrapsOntoTwoLinesAtAClause() {
    String[] lines = ProgressDisplay.twoLines(
        "5 ready + 8 processing at 2 per replica → 7; capped at maxReplicas 4; steady at 4", 66);
    assertThat(lines).containsExactly("5 ready + 8 processing at 2 per replica → 7;", "capped at maxReplicas 4; steady at 4");
    assertThat(ProgressDisplay.twoLines("short", 66)).containsExactly("short", "");
  }

  @Test
  void elsewhereItPrintsAPlainLineOnlyWhenSomethingChangedEveryFewSeconds() {
    StringWriter s = new StringWriter();
    ProgressDisplay d = new ProgressDisplay(new PrintWriter(s), false);
    d.show(frame(0.0, 0, "r"), false);
    d.show(frame(0.5, 1, "r"), false); // changed, but too soon
    d.show(frame(2.5, 1, "r"), false);
    d.show(frame(5.0, 1, "r"), false); // nothing changed: nothing printed
    d.show(frame(5.25, 1, "r"), true); // forced: the final frame always prints
    assertThat(s.toString().lines()).hasSize(3);
    assertThat(s.toString()).doesNotContain("\033[");
    assertThat(s.toString().lines().toList().get(1))
        .isEqualTo("[  2.5s] 3/40 finished | uploaded 40 | ready 10 processing 8 | replicas 4 (desired 4, limitedBy=max)"
            + " | 5.5 jobs/s | done 1 dead-lettered 2");
  }
}
