package io.queuepilot.cli;

/**
 * The exit codes of every {@code queuepilot} command; scripts may rely on them (docs/cli.md).
 */
public final class ExitCode {

  /** The command did what was asked. */
  public static final int OK = 0;

  /** The command line or configuration was wrong: unknown option, malformed id, bad value. */
  public static final int USAGE = 1;

  /** The job does not exist, or its status does not allow the requested transition. */
  public static final int NOT_FOUND_OR_ILLEGAL = 2;

  /** The database could not be reached or refused the login. */
  public static final int DATABASE_UNREACHABLE = 3;

  /** Anything else went wrong (an unexpected database error, an I/O failure); the message says what. */
  public static final int FAILURE = 4;

  private ExitCode() {}
}
