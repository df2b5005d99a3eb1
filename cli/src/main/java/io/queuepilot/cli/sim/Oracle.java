package io.queuepilot.cli.sim;

/**
 * The clairvoyant lower bound a scaler is measured against: knowing every arrival and every
 * job's duration in advance, no schedule can bill fewer replica-seconds than the busy
 * slot-seconds divided by the slots per replica, {@code Σ job seconds / concurrency} — every
 * replica fully busy from the moment it exists, no start-up, no idle gap, every job started the
 * moment it arrives (wait 0). Real schedules pay start-up and idle slots on top; the ratio to
 * this bound is what {@code bench/run.sh scaling} reports.
 */
public final class Oracle {

  private Oracle() {}

  public static double replicaSeconds(Workload w, int concurrency) {
    return w.workSeconds() / concurrency;
  }
}
