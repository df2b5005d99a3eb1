package io.queuepilot.worker.fakes;

import io.queuepilot.queue.budget.TokenBudget;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** An in-memory TokenBudget that grants (or denies) and records every reserve, settle and block. */
public final class RecordingTokenBudget implements TokenBudget {

  public final List<Long> reserved = new CopyOnWriteArrayList<>();
  public final List<Long> settled = new CopyOnWriteArrayList<>();
  public final List<Duration> blocks = new CopyOnWriteArrayList<>();
  public volatile Duration deny;

  @Override
  public Reservation reserve(long tokens, int requests, UUID jobId) {
    if (deny != null) {
      return new Reservation.Denied(deny);
    }
    reserved.add(tokens);
    return new Reservation.Granted(UUID.randomUUID(), tokens);
  }

  @Override
  public void settle(Reservation.Granted reservation, long tokensUsed) {
    settled.add(tokensUsed);
  }

  @Override
  public void block(Duration duration, String reason) {
    blocks.add(duration);
  }
}
