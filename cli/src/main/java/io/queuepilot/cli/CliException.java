package io.queuepilot.cli;

/** A failure the CLI reports as one clear line on stderr and a specific {@link ExitCode}. */
public final class CliException extends RuntimeException {

  private final int exitCode;

  public CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }

  public static CliException usage(String message) {
    return new CliException(ExitCode.USAGE, message);
  }

  public static CliException notFound(String message) {
    return new CliException(ExitCode.NOT_FOUND_OR_ILLEGAL, message);
  }
}
