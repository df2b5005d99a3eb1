package io.queuepilot.cli.local;

import picocli.CommandLine.Command;

/** placeholder */
@Command(name = "local", mixinStandardHelpOptions = true, description = "Run the whole pipeline locally.")
public final class LocalCommand implements Runnable {
  @Override
  public void run() {}
}
