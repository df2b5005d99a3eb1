package io.queuepilot.scaling;

import java.util.Optional;

/**
 * Where a {@link Scaler} keeps its {@link ScalingHistory} between cycles: the one history a
 * scaler has. {@link #inMemory()} in one process; a store backed by the QueueScaler status
 * lets a new leader continue the window.
 */
public interface ScalingHistoryStore {

  /** The history saved last, empty before the first cycle. */
  Optional<ScalingHistory> load();

  /** Keeps {@code history} for the next cycle. */
  void save(ScalingHistory history);

  /** A store in this process's memory. */
  static ScalingHistoryStore inMemory() {
    return new InMemory();
  }

  /** The in-memory store; thread-safe. */
  final class InMemory implements ScalingHistoryStore {
    private volatile ScalingHistory history;

    @Override
    public Optional<ScalingHistory> load() {
      return Optional.ofNullable(history);
    }

    @Override
    public void save(ScalingHistory history) {
      this.history = history;
    }
  }
}
