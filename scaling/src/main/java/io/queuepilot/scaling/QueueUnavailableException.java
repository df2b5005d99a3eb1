package io.queuepilot.scaling;

/** The queue could not be observed; the message says why in words fit for status and logs. */
public class QueueUnavailableException extends Exception {

  public QueueUnavailableException(String message) {
    super(message);
  }

  public QueueUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
