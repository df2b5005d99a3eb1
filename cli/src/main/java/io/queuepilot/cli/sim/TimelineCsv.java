package io.queuepilot.cli.sim;

import java.io.IOException;
import java.io.Writer;

/** Writes a {@link Timeline} as CSV, one row per simulated second. */
public final class TimelineCsv {

  public static final String HEADER =
      "t,arrivals,queue_depth,processing,replicas,desired_replicas,limited_by,tokens_per_min,completed";

  private TimelineCsv() {}

  public static void write(Timeline timeline, Writer out) throws IOException {
    out.write(HEADER);
    out.write('\n');
    for (Timeline.Tick k : timeline.ticks()) {
      out.write(
          k.t() + "," + k.arrivals() + "," + k.queueDepth() + "," + k.processing() + "," + k.replicas() + ","
              + k.desiredReplicas() + "," + k.limitedBy() + "," + k.tokensPerMinute() + "," + k.completed() + "\n");
    }
  }
}
