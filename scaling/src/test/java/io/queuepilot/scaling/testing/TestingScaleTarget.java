package io.queuepilot.scaling.testing;

import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * A scale target in memory: a replica count, an optional range it accepts (like Render's
 * 1..100), an optional other autoscaler, and failures queued for the next reads, conflict
 * checks or scale calls. Records every scale call.
 */
public final class TestingScaleTarget implements ScaleTarget {

  private int replicas;
  private int least = 0;
  private int most = Integer.MAX_VALUE;
  private String conflict;
  private final Deque<ScaleTargetException> readFailures = new ArrayDeque<>();
  private final Deque<ScaleTargetException> conflictCheckFailures = new ArrayDeque<>();
  private final Deque<ScaleTargetException> scaleFailures = new ArrayDeque<>();
  private final List<Integer> scaleCalls = new ArrayList<>();

  public TestingScaleTarget(int replicas) {
    this.replicas = replicas;
  }

  /** The target accepts only {@code least..most} replicas (clamp). */
  public TestingScaleTarget accepting(int least, int most) {
    this.least = least;
    this.most = most;
    return this;
  }

  /** Another autoscaler drives this target (null: none). */
  public TestingScaleTarget conflict(String conflict) {
    this.conflict = conflict;
    return this;
  }

  public TestingScaleTarget failNextRead(ScaleTargetException e) {
    readFailures.add(e);
    return this;
  }

  public TestingScaleTarget failNextConflictCheck(ScaleTargetException e) {
    conflictCheckFailures.add(e);
    return this;
  }

  public TestingScaleTarget failNextScale(ScaleTargetException e) {
    scaleFailures.add(e);
    return this;
  }

  /** The replica counts every successful and failed scale call asked for, in order. */
  public List<Integer> scaleCalls() {
    return List.copyOf(scaleCalls);
  }

  public int replicas() {
    return replicas;
  }

  @Override
  public String describe() {
    return "testing/target";
  }

  @Override
  public int currentReplicas() throws ScaleTargetException {
    if (!readFailures.isEmpty()) throw readFailures.poll();
    return replicas;
  }

  @Override
  public Optional<String> conflictingAutoscaler() throws ScaleTargetException {
    if (!conflictCheckFailures.isEmpty()) throw conflictCheckFailures.poll();
    return Optional.ofNullable(conflict);
  }

  @Override
  public int clamp(int wanted) {
    return Math.max(least, Math.min(most, Math.max(0, wanted)));
  }

  @Override
  public void scale(int wanted) throws ScaleTargetException {
    scaleCalls.add(wanted);
    if (!scaleFailures.isEmpty()) throw scaleFailures.poll();
    replicas = wanted;
  }
}
