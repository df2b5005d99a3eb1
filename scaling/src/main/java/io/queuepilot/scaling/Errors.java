package io.queuepilot.scaling;

/** The innermost message of an exception chain, for status messages that must not carry stack dumps. */
final class Errors {

  private Errors() {}

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
