package io.queuepilot.cli.local;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The local mode's live view. On a terminal it redraws the same block of lines in place with
 * ANSI cursor movement (a progress display, not a scrolling log); elsewhere (piped, CI) it
 * prints one plain line when the state changed, at most every few seconds.
 */
public final class ProgressDisplay {

  /** Everything one frame shows. */
  public record Frame(
      double elapsedSeconds,
      long documents,
      long uploaded,
      long ready,
      long processing,
      long done,
      long deadLettered,
      int replicas,
      int desiredReplicas,
      String limitedBy,
      String reason,
      double jobsPerSecond,
      long clinicalEvents) {}

  private static final String CLEAR_LINE = "\033[2K";
  private static final int BAR = 32;
  private static final int WHY_WIDTH = 66;
  private static final double PLAIN_EVERY_SECONDS = 2.0;

  private final PrintWriter out;
  private final boolean ansi;
  private int linesDrawn;
  private double lastPlainAt = -1e9;
  private String lastPlain = "";

  public ProgressDisplay(PrintWriter out, boolean ansi) {
    this.out = out;
    this.ansi = ansi;
  }

  /** Draws {@code f}: in place on a terminal, as a plain line otherwise. */
  public synchronized void show(Frame f, boolean force) {
    if (ansi) {
      List<String> lines = lines(f);
      StringBuilder s = new StringBuilder();
      if (linesDrawn > 0) {
        s.append("\033[").append(linesDrawn).append('F'); // to the start of the block
      }
      for (String line : lines) {
        s.append(CLEAR_LINE).append(line).append('\n');
      }
      out.print(s);
      out.flush();
      linesDrawn = lines.size();
    } else {
      String line = plain(f);
      String state = line.substring(line.indexOf(']') + 1); // without the clock
      if (force || (!state.equals(lastPlain) && f.elapsedSeconds() - lastPlainAt >= PLAIN_EVERY_SECONDS)) {
        out.println(line);
        out.flush();
        lastPlain = state;
        lastPlainAt = f.elapsedSeconds();
      }
    }
  }

  static List<String> lines(Frame f) {
    List<String> l = new ArrayList<>();
    long finished = f.done() + f.deadLettered();
    l.add(String.format(Locale.ROOT, "\033[1mQueuePilot local\033[0m  %5.1fs   %s %d/%d",
        f.elapsedSeconds(), bar(finished, f.documents()), finished, f.documents()));
    l.add(String.format(Locale.ROOT, "  queue      %4d ready   %4d processing   %5.1f jobs/s   (%d/%d uploaded)",
        f.ready(), f.processing(), f.jobsPerSecond(), f.uploaded(), f.documents()));
    l.add(String.format(Locale.ROOT, "  replicas   %4d running %4d desired      limitedBy=%s",
        f.replicas(), f.desiredReplicas(), f.limitedBy()));
    // every line stays within 80 columns (a wrapped line would break the in-place redraw), so
    // the policy's reason gets two lines, split where its clauses meet
    String[] why = twoLines(f.reason() == null ? "-" : f.reason(), WHY_WIDTH);
    l.add("  why        " + why[0]);
    l.add("             " + why[1]);
    l.add(String.format(Locale.ROOT, "  results    \033[32m%4d done\033[0m   \033[31m%4d dead-lettered\033[0m   %5d clinical events",
        f.done(), f.deadLettered(), f.clinicalEvents()));
    return l;
  }

  static String plain(Frame f) {
    return String.format(Locale.ROOT,
        "[%5.1fs] %d/%d finished | uploaded %d | ready %d processing %d | replicas %d (desired %d, limitedBy=%s) | %.1f jobs/s | done %d dead-lettered %d",
        f.elapsedSeconds(), f.done() + f.deadLettered(), f.documents(), f.uploaded(), f.ready(), f.processing(),
        f.replicas(),
        f.desiredReplicas(), f.limitedBy(), f.jobsPerSecond(), f.done(), f.deadLettered());
  }

  static String bar(long done, long total) {
    int filled = total == 0 ? BAR : (int) Math.min(BAR, done * BAR / total);
    return "[" + "█".repeat(filled) + "░".repeat(BAR - filled) + "]";
  }

  /** Splits {@code s} into two lines of at most {@code width}, at a "; " when one fits. */
  static String[] twoLines(String s, int width) {
    if (s.length() <= width) {
      return new String[] {s, ""};
    }
    int cut = s.lastIndexOf("; ", width - 1);
    String first = cut > 0 ? s.substring(0, cut + 1) : s.substring(0, width);
    String rest = s.substring(first.length()).strip();
    return new String[] {first, abbreviate(rest, width)};
  }

  private static String abbreviate(String s, int max) {
    if (s == null) {
      return "-";
    }
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }
}
