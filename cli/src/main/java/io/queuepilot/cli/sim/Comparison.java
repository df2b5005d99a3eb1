package io.queuepilot.cli.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One workload through QueuePilot's scaler, the KEDA + HPA defaults model, the clairvoyant
 * oracle schedule and the work lower bound, under the same {@link World} rules: the
 * side-by-side rows {@code scaler simulate} prints. Ratios are to the oracle schedule (and, in
 * {@code ratioToBound}, to the work lower bound).
 */
public final class Comparison {

  /** One model's line. The work bound's row has no waits (it starts every job on arrival by definition). */
  public record Row(
      String model,
      double replicaMinutes,
      double ratioToOracle,
      double ratioToBound,
      Double waitP50,
      Double waitP95,
      Double waitMax,
      Long sloViolations,
      double minutesOverTokenBudget,
      double minutesOverRequestBudget,
      Integer reversals,
      Integer maxReversalsPerWindow,
      Double firstScaleCallSeconds,
      Long completed) {

    public Map<String, Object> asMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", model);
      m.put("replicaMinutes", round(replicaMinutes));
      m.put("ratioToOracle", round(ratioToOracle));
      m.put("ratioToBound", round(ratioToBound));
      m.put("waitP50Seconds", waitP50 == null ? null : round(waitP50));
      m.put("waitP95Seconds", waitP95 == null ? null : round(waitP95));
      m.put("waitMaxSeconds", waitMax == null ? null : round(waitMax));
      m.put("sloViolations", sloViolations);
      m.put("minutesOverTokenBudget", round(minutesOverTokenBudget));
      m.put("minutesOverRequestBudget", round(minutesOverRequestBudget));
      m.put("reversals", reversals);
      m.put("maxReversalsPerWindow", maxReversalsPerWindow);
      m.put("firstScaleCallSeconds", firstScaleCallSeconds == null ? null : round(firstScaleCallSeconds));
      m.put("completed", completed);
      return m;
    }
  }

  /** The rows and the QueuePilot run's full result (its timeline is what the CSV and SVG show). */
  public record Outcome(List<Row> rows, World.Result queuePilot, World.Result kedaHpa, Oracle.Schedule oracle,
      double workBoundSeconds) {}

  private Comparison() {}

  public static Outcome run(World world, Workload workload, World.Model queuePilot, World.Model keda, int concurrency,
      int initialReplicas, double targetWaitSeconds) {
    World.Config c = world.config();
    Oracle.Schedule oracle = Oracle.schedule(workload, new Oracle.Rules(concurrency, c.startupSeconds(),
        targetWaitSeconds, c.maxReplicas(), c.tokensPerWindow(), c.requestsPerWindow(), c.windowSeconds()));
    double bound = oracle.lowerBoundSeconds();
    World.Result qp = world.run(workload, queuePilot, initialReplicas);
    World.Result kh = world.run(workload, keda, initialReplicas);
    List<Row> rows = new ArrayList<>();
    rows.add(row(qp, oracle.replicaSeconds(), bound, targetWaitSeconds));
    rows.add(row(kh, oracle.replicaSeconds(), bound, targetWaitSeconds));
    // the oracle obeys the workers' reservation rule, so the provider never sees more than the budget
    rows.add(new Row("oracle-schedule", oracle.replicaSeconds() / 60, 1.0, ratio(oracle.replicaSeconds(), bound),
        oracle.waitQuantile(0.5), oracle.waitQuantile(0.95), oracle.waitQuantile(1.0),
        oracle.sloViolations(targetWaitSeconds), 0, 0, null, null, null, (long) workload.jobs().size()));
    rows.add(new Row("work-lower-bound", bound / 60, ratio(bound, oracle.replicaSeconds()), 1.0, 0.0, 0.0, 0.0, 0L,
        0, 0, null, null, null, (long) workload.jobs().size()));
    return new Outcome(rows, qp, kh, oracle, bound);
  }

  private static double ratio(double a, double b) {
    return b <= 0 ? 0 : a / b;
  }

  static Row row(World.Result r, double oracleSeconds, double boundSeconds, double target) {
    return new Row(r.model(), r.replicaMinutes(), ratio(r.replicaSeconds(), oracleSeconds),
        ratio(r.replicaSeconds(), boundSeconds),
        r.waitQuantile(0.5), r.waitQuantile(0.95), r.waitQuantile(1.0), r.sloViolations(target),
        r.secondsOverTokenBudget() / 60, r.secondsOverRequestBudget() / 60, r.reversals(), r.maxReversalsPerWindow(),
        r.firstScaleCallSeconds(), r.completed());
  }

  static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  /** The table as text lines (header first). */
  public static List<List<String>> table(List<Row> rows) {
    List<List<String>> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(List.of(r.model(), f(r.replicaMinutes()), f(r.ratioToOracle()) + "×", f(r.ratioToBound()) + "×",
          opt(r.waitP50()), opt(r.waitP95()),
          opt(r.waitMax()), r.sloViolations() == null ? "—" : Long.toString(r.sloViolations()),
          f(r.minutesOverTokenBudget()), f(r.minutesOverRequestBudget()),
          r.maxReversalsPerWindow() == null ? "—" : r.maxReversalsPerWindow() + " (" + r.reversals() + ")",
          opt(r.firstScaleCallSeconds())));
    }
    return out;
  }

  public static final List<String> HEADER = List.of("MODEL", "REPLICA-MIN", "VS ORACLE", "VS WORK BOUND", "WAIT P50 (s)", "WAIT P95 (s)",
      "WAIT MAX (s)", "SLO VIOLATIONS", "MIN OVER TOKENS", "MIN OVER REQUESTS", "REVERSALS/WINDOW (TOTAL)",
      "FIRST SCALE CALL (s)");

  private static String f(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String opt(Double v) {
    return v == null ? "—" : f(v);
  }
}
