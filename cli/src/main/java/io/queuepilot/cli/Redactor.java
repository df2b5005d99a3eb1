package io.queuepilot.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The last line of defence for secrets: everything the CLI prints goes through a writer that
 * replaces every password and API key it was given (options, environment, inside URLs) with
 * {@code ***}, whatever message (the driver's, Flyway's, ours) carried it. Text is held back
 * until a line ends or the writer is flushed, so a secret split across two writes is still found.
 */
public final class Redactor extends FilterWriter {

  /** Secrets shorter than this are not searched for: masking every "a" would garble the output. */
  static final int MIN_SECRET_LENGTH = 4;

  private static final Pattern USERINFO_PASSWORD = Pattern.compile("//[^/@:?]*:([^/@?]+)@");
  private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)password=([^&]+)");

  private final List<String> secrets;
  private final StringBuilder pending = new StringBuilder();

  public Redactor(Writer out, List<String> secrets) {
    super(out);
    this.secrets = secrets.stream()
        .filter(s -> s != null && s.length() >= MIN_SECRET_LENGTH)
        .distinct()
        .sorted(Comparator.comparingInt(String::length).reversed())
        .toList();
  }

  /** The passwords inside a URL: user:password@ and password=... */
  static List<String> passwordsIn(String url) {
    List<String> found = new ArrayList<>();
    for (Pattern p : new Pattern[] {USERINFO_PASSWORD, PASSWORD_PARAMETER}) {
      Matcher m = p.matcher(url);
      while (m.find()) {
        found.add(m.group(1));
        found.add(java.net.URLDecoder.decode(m.group(1).replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return found;
  }

  /** The secrets given on the command line: --db-password values and passwords inside --db-url. */
  static List<String> secretsIn(String[] args) {
    List<String> found = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      String option = a;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        option = a.substring(0, eq);
        value = a.substring(eq + 1);
      } else if (i + 1 < args.length) {
        value = args[i + 1];
      }
      if (value == null) {
        continue;
      }
      if (option.equals("--db-password")) {
        found.add(value);
      } else if (option.equals("--db-url")) {
        found.addAll(passwordsIn(value));
      }
    }
    return found;
  }

  @Override
  public void write(int c) throws IOException {
    pending.append((char) c);
    if (c == '\n') {
      drain();
    }
  }

  @Override
  public void write(char[] cbuf, int off, int len) throws IOException {
    write(new String(cbuf, off, len), 0, len);
  }

  @Override
  public void write(String str, int off, int len) throws IOException {
    pending.append(str, off, off + len);
    if (pending.indexOf("\n") >= 0) {
      drain();
    }
  }

  @Override
  public void flush() throws IOException {
    drain();
    super.flush();
  }

  @Override
  public void close() throws IOException {
    drain();
    super.close();
  }

  private void drain() throws IOException {
    if (pending.isEmpty()) {
      return;
    }
    String text = pending.toString();
    pending.setLength(0);
    for (String s : secrets) {
      text = text.replace(s, "***");
    }
    out.write(text);
  }
}
