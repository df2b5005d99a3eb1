package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.controller.core.PauseSource;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.scaling.LimitedBy;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.QueueStep;
import io.queuepilot.scaling.RescueStep;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScaleTargetException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Pure mapping from the previous status and one cycle's outcome to the next status and the
 * Events worth publishing (replica changes, a limit starting to bind, conditions turning bad).
 */
public final class StatusUpdate {

  public static final String READY = "Ready";
  public static final String SCALING_ACTIVE = "ScalingActive";
  public static final String SCALING_LIMITED = "ScalingLimited";
  public static final String DATABASE_REACHABLE = "DatabaseReachable";
  public static final String TARGET_FOUND = "TargetFound";
  public static final String CONFLICTING_AUTOSCALER = "ConflictingAutoscaler";
  public static final String PAUSED = "Paused";
  public static final String TOKEN_BUDGET_FOUND = "TokenBudgetFound";

  /** An Event to publish. */
  public record PendingEvent(String type, String reason, String message) {}

  /** The next status and its Events. */
  public record Result(QueueScalerStatus status, List<PendingEvent> events) {}

  private StatusUpdate() {}

  /** Status for a spec the controller cannot use at all, keeping {@code countedBefore} as the requeue totals. */
  static Result invalidSpec(QueueScalerStatus previous, RescueTotals.Totals countedBefore, String message,
      Long generation, Instant now) {
    QueueScalerStatus s = copyBase(previous, generation);
    s.requeuedTotal = countedBefore.requeued();
    s.deadLetteredTotal = countedBefore.deadLettered();
    set(s, previous, READY, "False", "InvalidSpec", message, now, generation);
    set(s, previous, SCALING_ACTIVE, "False", "InvalidSpec", message, now, generation);
    List<PendingEvent> events = new ArrayList<>();
    if (turned(previous, READY, "False", "InvalidSpec")) events.add(new PendingEvent("Warning", "InvalidSpec", message));
    return new Result(s, events);
  }

  public static Result next(QueueScalerStatus previous, CycleOutcome o, String target, Long generation, Instant now) {
    return next(previous, o, target, generation, now, false);
  }

  /**
   * The next status. Condition reasons are UpperCamelCase and say what failed, so Ready=False
   * carries the failing condition's reason unchanged; {@code secretForbidden}: the database
   * Secret could not be read because RBAC refused it (a permission problem, not a database one).
   */
  public static Result next(QueueScalerStatus previous, CycleOutcome o, String target, Long generation, Instant now,
      boolean secretForbidden) {
    return next(previous, o, target, generation, now, secretForbidden, false);
  }

  /**
   * {@link #next(QueueScalerStatus, CycleOutcome, String, Long, Instant, boolean)};
   * {@code scaleDownWithheld}: the failed apply was a scale-down the target withheld because it
   * could not tell idle pods from busy ones (pods or their jobs unreadable, a pod not patchable):
   * ScalingActive=False and Ready=False with reason ScaleDownWithheld and a Warning Event of
   * that name, so it is not mistaken for a refused scale call.
   */
  public static Result next(QueueScalerStatus previous, CycleOutcome o, String target, Long generation, Instant now,
      boolean secretForbidden, boolean scaleDownWithheld) {
    return next(previous, RescueTotals.Totals.of(previous), o, target, generation, now, secretForbidden,
        scaleDownWithheld);
  }

  /**
   * The next status, with {@code countedBefore} as the requeue totals before this cycle (the
   * reconciler's memory may be ahead of a stale {@code previous}; see {@link RescueTotals}).
   */
  static Result next(QueueScalerStatus previous, RescueTotals.Totals countedBefore, CycleOutcome o, String target,
      Long generation, Instant now, boolean secretForbidden, boolean scaleDownWithheld) {
    QueueScalerStatus s = copyBase(previous, generation);
    List<PendingEvent> events = new ArrayList<>();

    QueueSnapshot snapshot = o.queue().snapshotOrNull();
    if (snapshot != null) {
      QueueScalerStatus.QueueStatus q = new QueueScalerStatus.QueueStatus();
      q.ready = snapshot.ready();
      q.scheduled = snapshot.scheduled();
      q.processing = snapshot.processing();
      q.stale = snapshot.stale();
      q.deadLetter = snapshot.deadLetter();
      q.oldestReadyAgeSeconds = snapshot.oldestReadyAgeSeconds();
      q.avgDurationSeconds = snapshot.avgDurationSeconds();
      q.avgTokensPerJob = snapshot.avgTokensPerJob();
      s.queue = q;
    }
    long requeued = o.rescue().requeuedCount();
    long deadLettered = o.rescue().deadLetteredCount();
    RescueTotals.Totals totals = countedBefore.plus(requeued, deadLettered);
    s.requeuedTotal = totals.requeued();
    s.deadLetteredTotal = totals.deadLettered();
    if (requeued + deadLettered > 0) {
      events.add(new PendingEvent("Normal", "RequeuedStaleJobs", requeued + " stale job(s) requeued, "
          + deadLettered + " dead-lettered (heartbeat timeout)"));
    }
    o.replicasAfter().ifPresent(r -> s.currentReplicas = r);

    // DatabaseReachable
    if (o.queue() instanceof QueueStep.QueueUnavailable u) {
      String reason = secretForbidden ? "SecretForbidden" : "QueryFailed";
      if (turned(previous, DATABASE_REACHABLE, "False", reason)) {
        events.add(new PendingEvent("Warning", secretForbidden ? "SecretForbidden" : "DatabaseUnavailable", u.reason()));
      }
      set(s, previous, DATABASE_REACHABLE, "False", reason, u.reason(), now, generation);
    } else if (o.rescue() instanceof RescueStep.RescueFailed f) {
      if (turned(previous, DATABASE_REACHABLE, "False", "RequeueFailed")) {
        events.add(new PendingEvent("Warning", "DatabaseUnavailable", f.reason()));
      }
      set(s, previous, DATABASE_REACHABLE, "False", "RequeueFailed", f.reason(), now, generation);
    } else {
      set(s, previous, DATABASE_REACHABLE, "True", "QueryOK", o.rescue() instanceof RescueStep.Rescued
          ? "queue_stats and requeue_stale_jobs succeeded" : "queue_stats succeeded", now, generation);
    }

    // TargetFound
    if (!(o instanceof CycleOutcome.TargetUnavailable t)) {
      set(s, previous, TARGET_FOUND, "True", "Found", target + " exists", now, generation);
    } else if (t.kind() == ScaleTargetException.Kind.NOT_FOUND) {
      if (turned(previous, TARGET_FOUND, "False", "TargetNotFound")) events.add(new PendingEvent("Warning", "TargetNotFound", t.message()));
      set(s, previous, TARGET_FOUND, "False", "TargetNotFound", t.message(), now, generation);
    } else if (t.kind() == ScaleTargetException.Kind.FORBIDDEN) {
      // RBAC said no: the Deployment may well exist (outside the Role's resourceNames)
      if (turned(previous, TARGET_FOUND, "Unknown", "TargetForbidden")) events.add(new PendingEvent("Warning", "TargetForbidden", t.message()));
      set(s, previous, TARGET_FOUND, "Unknown", "TargetForbidden", t.message(), now, generation);
    } else {
      if (turned(previous, TARGET_FOUND, "Unknown", "TargetReadFailed")) events.add(new PendingEvent("Warning", "TargetUnavailable", t.message()));
      set(s, previous, TARGET_FOUND, "Unknown", "TargetReadFailed", t.message(), now, generation);
    }

    // ConflictingAutoscaler
    if (o instanceof CycleOutcome.Conflicting c) {
      if (turned(previous, CONFLICTING_AUTOSCALER, "True", "OtherAutoscaler")) {
        events.add(new PendingEvent("Warning", "ConflictingAutoscaler", c.conflict()));
      }
      set(s, previous, CONFLICTING_AUTOSCALER, "True", "OtherAutoscaler", c.conflict(), now, generation);
    } else if (o instanceof CycleOutcome.Decided) {
      set(s, previous, CONFLICTING_AUTOSCALER, "False", "None", "no other autoscaler targets " + target, now, generation);
    }

    switch (o) {
      case CycleOutcome.Decided decided -> decided(s, previous, decided, events, target, generation, now,
          scaleDownWithheld);
      case CycleOutcome.Conflicting c -> {
        s.reason = c.conflict();
        set(s, previous, SCALING_ACTIVE, "False", "ConflictingAutoscaler", c.conflict(), now, generation);
      }
      case CycleOutcome.TargetUnavailable t -> {
        s.reason = t.message();
        set(s, previous, SCALING_ACTIVE, "False", t.kind() == ScaleTargetException.Kind.FORBIDDEN
            ? "TargetForbidden" : "TargetUnavailable", t.message(), now, generation);
      }
    }

    // Ready: everything needed to act works.
    Condition notOk = null;
    for (String type : List.of(DATABASE_REACHABLE, TARGET_FOUND)) {
      Condition c = find(s.conditions, type);
      if (c != null && !"True".equals(c.getStatus())) { notOk = c; break; }
    }
    Condition conflictC = find(s.conditions, CONFLICTING_AUTOSCALER);
    Condition active = find(s.conditions, SCALING_ACTIVE);
    if (notOk == null && conflictC != null && "True".equals(conflictC.getStatus())) notOk = conflictC;
    if (notOk == null && active != null && "False".equals(active.getStatus()) && !"Paused".equals(active.getReason())) notOk = active;
    if (notOk == null) {
      set(s, previous, READY, "True", "Reconciled", "observing the queue and scaling " + target, now, generation);
    } else {
      set(s, previous, READY, "False", notOk.getReason() == null ? notOk.getType() : notOk.getReason(),
          notOk.getMessage(), now, generation);
    }
    return new Result(s, events);
  }

  private static void decided(QueueScalerStatus s, QueueScalerStatus previous, CycleOutcome.Decided o,
      List<PendingEvent> events, String target, Long generation, Instant now, boolean scaleDownWithheld) {
    ScalingDecision d = o.decision();
    s.desiredReplicas = d.replicas();
    s.limitedBy = d.limitedBy().statusValue();
    s.reason = d.reason();
    if (o.scaled()) {
      s.lastScaleTime = DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS));
      events.add(new PendingEvent("Normal", "Scaled", "scaled " + target + " from " + d.currentReplicas() + " to "
          + d.replicas() + " (limitedBy " + d.limitedBy().statusValue() + "): " + d.reason()));
    }
    String prevLimit = previous == null ? null : previous.limitedBy;
    if (d.limitedBy() != LimitedBy.NONE) {
      set(s, previous, SCALING_LIMITED, "True", limitReason(d.limitedBy()), d.reason(), now, generation);
      if (!Objects.equals(prevLimit, d.limitedBy().statusValue()) && d.limitedBy() != LimitedBy.STABILIZATION) {
        events.add(new PendingEvent("Normal", "ScalingLimited", "limitedBy " + d.limitedBy().statusValue() + ": " + d.reason()));
      }
    } else {
      set(s, previous, SCALING_LIMITED, "False", "NoLimit", "no limit binds", now, generation);
    }
    if (o.apply() instanceof ApplyStep.ApplyFailed f) {
      String activeReason = scaleDownWithheld ? "ScaleDownWithheld" : f.retryAt().isPresent() ? "RateLimited" : "ScaleFailed";
      String activeMessage = scaleDownWithheld ? f.message() + "; keeping " + d.currentReplicas() + " replicas"
          : "keeping " + d.currentReplicas() + " replicas: " + f.message();
      if (turned(previous, SCALING_ACTIVE, "False", activeReason)) events.add(new PendingEvent("Warning", activeReason, activeMessage));
      set(s, previous, SCALING_ACTIVE, "False", activeReason, activeMessage, now, generation);
    } else if (o.apply() instanceof ApplyStep.Deferred df) {
      // not a failure: the scale-down waits for the pod-deletion costs just set (no Warning)
      set(s, previous, SCALING_ACTIVE, "True", "ScaleDownDeferred", "keeping " + d.currentReplicas()
          + " replicas until " + DateTimeFormatter.ISO_INSTANT.format(df.at().truncatedTo(ChronoUnit.MILLIS)) + ": "
          + df.reason(), now, generation);
    } else if (d.limitedBy() == LimitedBy.PAUSED) {
      set(s, previous, SCALING_ACTIVE, "False", "Paused", d.reason(), now, generation);
    } else if (o.queue() instanceof QueueStep.QueueUnavailable) {
      set(s, previous, SCALING_ACTIVE, "False", "DatabaseUnavailable", d.reason(), now, generation);
    } else {
      set(s, previous, SCALING_ACTIVE, "True", "Scaling", d.reason(), now, generation);
    }
  }

  /**
   * {@code r} with the effective pause shown: {@code status.paused} (kubectl's PAUSED column) and
   * the {@code Paused} condition, whose reason says whether spec.paused, the annotation or both
   * pause; a Normal {@code Paused} / {@code Resumed} Event when that changes.
   */
  public static Result withPause(Result r, QueueScalerStatus previous, PauseSource pause, Long generation, Instant now) {
    QueueScalerStatus s = r.status();
    s.paused = pause.paused();
    List<PendingEvent> events = new ArrayList<>(r.events());
    Condition before = previous == null ? null : find(previous.conditions, PAUSED);
    boolean wasPaused = before != null && "True".equals(before.getStatus());
    if (pause.paused() && turned(previous, PAUSED, "True", pause.reason())) {
      events.add(new PendingEvent("Normal", "Paused", pause.message() + ": the replica count is left as it is"));
    } else if (!pause.paused() && wasPaused) {
      events.add(new PendingEvent("Normal", "Resumed", "no longer paused: scaling again"));
    }
    set(s, previous, PAUSED, pause.paused() ? "True" : "False", pause.reason(), pause.message(), now, generation);
    return new Result(s, events);
  }

  /**
   * {@code r} with the {@code TokenBudgetFound} condition when the spec names a shared budget
   * ({@code budgetName} non-null) and the queue was observed: True when its token_budget_status
   * row came with the observation, otherwise False (reason BudgetUnavailable: the row does not
   * exist or could not be read, so the cap falls back to the spec's deprecated numbers) with one
   * Warning Event {@code TokenBudgetUnavailable} per transition. No name: no such condition; the
   * queue not observed: unchanged.
   */
  public static Result withBudget(Result r, QueueScalerStatus previous, String budgetName, CycleOutcome o,
      Long generation, Instant now) {
    if (budgetName == null) {
      r.status().conditions.removeIf(c -> TOKEN_BUDGET_FOUND.equals(c.getType())); // the spec no longer names one
      return r;
    }
    QueueSnapshot snapshot = o.queue().snapshotOrNull();
    if (snapshot == null) return r;
    QueueScalerStatus s = r.status();
    List<PendingEvent> events = new ArrayList<>(r.events());
    if (snapshot.budget() != null) {
      set(s, previous, TOKEN_BUDGET_FOUND, "True", "Found", "token_budget_status('" + budgetName + "') read: "
          + snapshot.budget().tokensPerWindow() + " tokens, " + snapshot.budget().requestsPerWindow() + " requests per "
          + snapshot.budget().windowSeconds() + " s", now, generation);
    } else {
      String message = "the shared token budget '" + budgetName + "' (spec.tokenBudget.name) does not exist or could not "
          + "be read (the controller's log says which); the replica cap uses spec.tokenBudget.tokensPerMinute / "
          + "requestsPerMinute instead, if set. Create it with configure_token_budget, or start a worker with "
          + "QUEUEPILOT_TOKEN_BUDGET=" + budgetName + " and QUEUEPILOT_TOKENS_PER_MINUTE";
      if (turned(previous, TOKEN_BUDGET_FOUND, "False", "BudgetUnavailable")) {
        events.add(new PendingEvent("Warning", "TokenBudgetUnavailable", message));
      }
      set(s, previous, TOKEN_BUDGET_FOUND, "False", "BudgetUnavailable", message, now, generation);
    }
    return new Result(s, events);
  }

  /** ScalingLimited's reason: the limit in UpperCamelCase (status.limitedBy keeps the short spelling). */
  static String limitReason(LimitedBy l) {
    return switch (l) {
      case MIN -> "MinReplicas";
      case MAX -> "MaxReplicas";
      case TOKEN_BUDGET -> "TokenBudget";
      case STABILIZATION -> "Stabilization";
      case PAUSED -> "Paused";
      case NONE -> "NoLimit";
    };
  }

  private static QueueScalerStatus copyBase(QueueScalerStatus previous, Long generation) {
    QueueScalerStatus s = new QueueScalerStatus();
    if (previous != null) {
      s.currentReplicas = previous.currentReplicas;
      s.desiredReplicas = previous.desiredReplicas;
      s.queue = previous.queue;
      s.limitedBy = previous.limitedBy;
      s.paused = previous.paused;
      s.reason = previous.reason;
      s.requeuedTotal = previous.requeuedTotal;
      s.deadLetteredTotal = previous.deadLetteredTotal;
      s.lastScaleTime = previous.lastScaleTime;
      if (previous.conditions != null) {
        for (Condition c : previous.conditions) s.conditions.add(new ConditionBuilder(c).build());
      }
    }
    s.observedGeneration = generation;
    return s;
  }

  private static boolean turned(QueueScalerStatus previous, String type, String status, String reason) {
    Condition c = previous == null ? null : find(previous.conditions, type);
    return c == null || !status.equals(c.getStatus()) || !Objects.equals(reason, c.getReason());
  }

  static Condition find(List<Condition> list, String type) {
    if (list == null) return null;
    for (Condition c : list) if (type.equals(c.getType())) return c;
    return null;
  }

  private static void set(QueueScalerStatus s, QueueScalerStatus previous, String type, String status, String reason,
      String message, Instant now, Long generation) {
    Condition old = previous == null ? null : find(previous.conditions, type);
    String transition = old != null && status.equals(old.getStatus()) && old.getLastTransitionTime() != null
        ? old.getLastTransitionTime()
        : DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS));
    Condition c = new ConditionBuilder().withType(type).withStatus(status).withReason(reason)
        .withMessage(message == null ? "" : (message.length() > 1000 ? message.substring(0, 1000) : message))
        .withLastTransitionTime(transition).withObservedGeneration(generation).build();
    for (int i = 0; i < s.conditions.size(); i++) {
      if (type.equals(s.conditions.get(i).getType())) {
        s.conditions.set(i, c);
        return;
      }
    }
    s.conditions.add(c);
  }

}
