package io.queuepilot.cli.sim;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Draws a {@link Timeline} as a self-contained SVG with three stacked panels sharing the time
 * axis: queue depth; running and desired replicas with the max-replica and token-budget ceilings;
 * tokens per minute against the token budget. Each series is a {@code <polyline>} with a stable id.
 */
public final class TimelineSvg {

  private static final int WIDTH = 960;
  private static final int LEFT = 80;
  private static final int RIGHT = 30;
  private static final int TOP = 60;
  private static final int PANEL = 170;
  private static final int GAP = 60;
  private static final int PLOT_W = WIDTH - LEFT - RIGHT;

  private TimelineSvg() {}

  public static void write(Timeline tl, String title, Writer out) throws IOException {
    int height = TOP + 3 * PANEL + 2 * GAP + 50;
    int maxT = Math.max(1, tl.last().t());
    StringBuilder s = new StringBuilder();
    s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\n", WIDTH, height, WIDTH, height));
    s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height));
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">%s</text>\n",
        LEFT, escape(title)));

    // Panel 1: queue depth.
    Panel p1 = new Panel(TOP, "Queue depth (ready jobs)", maxT, niceMax(tl.peakQueueDepth()));
    p1.frame(s);
    p1.series(s, "queue-depth", "#1f77b4", false, tl.ticks(), Timeline.Tick::queueDepth);
    p1.legend(s, List.<String[]>of(new String[] {"#1f77b4", "queue depth", ""}));

    // Panel 2: replicas, desired replicas, max and token-budget ceilings.
    double repMax = Math.max(tl.maxReplicas(), tl.peakReplicas());
    if (tl.tokenBudgetReplicas() != null) {
      repMax = Math.max(repMax, Math.min(tl.tokenBudgetReplicas(), tl.maxReplicas() * 2L));
    }
    Panel p2 = new Panel(TOP + PANEL + GAP, "Worker replicas", maxT, niceMax(repMax));
    p2.frame(s);
    p2.series(s, "replicas", "#2ca02c", false, tl.ticks(), Timeline.Tick::replicas);
    p2.series(s, "desired-replicas", "#98df8a", true, tl.ticks(), Timeline.Tick::desiredReplicas);
    p2.level(s, "max-replicas", "#7f7f7f", tl.maxReplicas());
    List<String[]> legend2 = new ArrayList<>();
    legend2.add(new String[] {"#2ca02c", "running replicas", ""});
    legend2.add(new String[] {"#98df8a", "desired replicas", "6,3"});
    legend2.add(new String[] {"#7f7f7f", "maxReplicas " + tl.maxReplicas(), "2,3"});
    if (tl.tokenBudgetReplicas() != null) {
      p2.level(s, "token-budget-replicas", "#d62728", Math.min(tl.tokenBudgetReplicas(), p2.yMax));
      legend2.add(new String[] {"#d62728", "token budget allows " + tl.tokenBudgetReplicas(), "2,3"});
    }
    p2.legend(s, legend2);

    // Panel 3: tokens per minute against the budget.
    double tokMax = tl.ticks().stream().mapToDouble(Timeline.Tick::tokensPerMinute).max().orElse(0);
    if (tl.tokensPerMinuteBudget() != null) {
      tokMax = Math.max(tokMax, tl.tokensPerMinuteBudget());
    }
    Panel p3 = new Panel(TOP + 2 * (PANEL + GAP), "Tokens per minute (OpenAI)", maxT, niceMax(tokMax));
    p3.frame(s);
    p3.series(s, "tokens-per-minute", "#9467bd", false, tl.ticks(), Timeline.Tick::tokensPerMinute);
    List<String[]> legend3 = new ArrayList<>();
    legend3.add(new String[] {"#9467bd", "tokens / min", ""});
    if (tl.tokensPerMinuteBudget() != null) {
      p3.level(s, "token-budget", "#d62728", tl.tokensPerMinuteBudget());
      legend3.add(new String[] {"#d62728", "token budget " + tl.tokensPerMinuteBudget() + "/min", "2,3"});
    }
    p3.legend(s, legend3);

    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (s)</text>\n",
        LEFT + PLOT_W / 2, height - 12));
    s.append("</svg>\n");
    out.write(s.toString());
  }

  /** Rounds up to 1, 2 or 5 times a power of ten, so axis labels are readable. */
  static double niceMax(double v) {
    if (v <= 0) {
      return 1;
    }
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (v <= m * p) {
        return m * p;
      }
    }
    return 10 * p;
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  private static String num(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
  }

  /** One chart panel: its frame, axes, and the mapping from data to pixels. */
  private record Panel(int top, String title, int maxT, double yMax) {

    double x(double t) {
      return LEFT + t / maxT * PLOT_W;
    }

    double y(double v) {
      return top + PANEL - Math.min(v, yMax) / yMax * PANEL;
    }

    void frame(StringBuilder s) {
      s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n",
          LEFT, top - 8, escape(title)));
      s.append(String.format(Locale.ROOT,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#cccccc\"/>\n",
          LEFT, top, PLOT_W, PANEL));
      for (int i = 0; i <= 4; i++) {
        double v = yMax * i / 4;
        double y = y(v);
        s.append(String.format(Locale.ROOT,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eeeeee\"/>\n", LEFT, y, LEFT + PLOT_W, y));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            LEFT - 6, y + 4, num(v)));
      }
      for (int i = 0; i <= 6; i++) {
        double t = (double) maxT * i / 6;
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
            x(t), top + PANEL + 16, num(Math.round(t))));
      }
    }

    void series(StringBuilder s, String id, String color, boolean dashed, List<Timeline.Tick> ticks,
        ToDoubleFunction<Timeline.Tick> value) {
      StringBuilder points = new StringBuilder();
      for (Timeline.Tick k : ticks) {
        if (!points.isEmpty()) {
          points.append(' ');
        }
        points.append(String.format(Locale.ROOT, "%.1f,%.1f", x(k.t()), y(value.applyAsDouble(k))));
      }
      s.append(String.format(Locale.ROOT,
          "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"%s\"/>\n",
          id, color, dashed ? " stroke-dasharray=\"6,3\"" : "", points));
    }

    void level(StringBuilder s, String id, String color, double v) {
      s.append(String.format(Locale.ROOT,
          "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"2,3\" "
              + "points=\"%.1f,%.1f %.1f,%.1f\"/>\n",
          id, color, x(0), y(v), x(maxT), y(v)));
    }

    void legend(StringBuilder s, List<String[]> entries) {
      int x = LEFT + PLOT_W - 190;
      int y = top + 14;
      for (String[] e : entries) {
        s.append(String.format(Locale.ROOT,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, y - 4, x + 24, y - 4, e[0], e[2].isEmpty() ? "" : " stroke-dasharray=\"" + e[2] + "\""));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 30, y, escape(e[1])));
        y += 16;
      }
    }
  }
}
