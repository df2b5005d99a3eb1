package io.queuepilot.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This worker's verdict that the model provider cannot be used now: out of quota or billing
 * (for a while, in step with the shared budget's block), the key rejected, or the request shape
 * refused by the model (both until restart: an operator must fix the secret or the
 * configuration). While halted the worker claims nothing and /readyz says why.
 */
public final class ProviderHalt {

  private static final Logger log = LoggerFactory.getLogger(ProviderHalt.class);

  /** Why claiming stopped. */
  public enum Reason { QUOTA, AUTH, CONFIG }

  /** The halt: its reason, the provider's code, a message for operators, and until when (MAX = until restart). */
  public record State(Reason reason, String code, String message, Instant since, Instant until) {}

  private final Clock clock;
  private final AtomicReference<State> state = new AtomicReference<>();

  public ProviderHalt(Clock clock) {
    this.clock = clock;
  }

  /** Halts for {@code duration} (null = until restart); a longer halt already in force wins. */
  public void halt(Reason reason, String code, String message, Duration duration) {
    Instant now = clock.instant();
    Instant until = duration == null ? Instant.MAX : now.plus(duration);
    State next = new State(reason, code, message, now, until);
    State before = state.getAndUpdate(s -> s != null && s.until().isAfter(now) && !s.until().isBefore(until) ? s : next);
    if (before == null || !before.until().isAfter(now) || before.until().isBefore(until)) {
      log.error("model provider unusable ({} {}): {}; this worker stops claiming jobs {}", reason, code, message,
          duration == null ? "until it is restarted" : "for " + duration.toSeconds() + " s");
    }
  }

  /** The halt in force now, if any. */
  public Optional<State> current() {
    State s = state.get();
    return s != null && s.until().isAfter(clock.instant()) ? Optional.of(s) : Optional.empty();
  }

  /** What an operator must do for this reason. */
  public static String remedy(Reason reason) {
    return switch (reason) {
      case QUOTA -> "add credit or raise the usage limit in the provider's billing settings; claiming resumes when the block ends";
      case AUTH -> "fix OPENAI_API_KEY (or its access) and restart the worker";
      case CONFIG -> "fix QUEUEPILOT_OPENAI_MODEL / the request settings and restart the worker";
    };
  }
}
