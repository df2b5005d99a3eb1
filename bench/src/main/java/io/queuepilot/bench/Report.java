package io.queuepilot.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Writes one section's results as markdown to bench/results/&lt;section&gt;.md (and echoes them). */
public final class Report {

  private final Path file;
  private final StringBuilder text = new StringBuilder();

  public Report(Path resultsDir, String section) {
    try {
      Files.createDirectories(resultsDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.file = resultsDir.resolve(section + ".md");
  }

  public Report line(String s) {
    text.append(s).append('\n');
    System.out.println(s);
    flush();
    return this;
  }

  public Report format(String format, Object... args) {
    return line(format.formatted(args));
  }

  private void flush() {
    try {
      Files.writeString(file, text, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    }
  }

  public Path file() {
    return file;
  }
}
