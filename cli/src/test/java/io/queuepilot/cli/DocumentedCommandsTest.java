package io.queuepilot.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Keeps the documentation's {@code queuepilot ...} commands runnable: every one in the README,
 * docs/*.md, the chart README and NOTES.txt (code blocks and inline code) is parsed by the CLI's
 * real command tree, so a renamed command or a removed or misspelt option fails the build.
 * Placeholders ({@code <job-id>}) become a valid id, shell variables stay literal values. A
 * transcript line followed by {@code exit 1} documents a usage error on purpose and must fail.
 */
class DocumentedCommandsTest {

  static final Path ROOT = Path.of(System.getProperty("queuepilot.repoRoot", ".."));
  static final String SAMPLE_ID = "0b9f6a52-3c7e-4d1e-9a55-2f1e8d6c4b10";
  /**
   * {@code queuepilot} in command position (start of the code, after a prompt {@code $ }, a
   * {@code ;}, {@code |}, {@code &&} or {@code $(}) followed by its shell words; so
   * {@code kubectl -n queuepilot ...} and {@code helm install queuepilot ...} are not taken.
   */
  static final Pattern COMMAND = Pattern.compile(
      "(?:^\\s*|\\$ |[;(|]\\s*|&&\\s*)(?:queuepilot|java -jar cli/target/queuepilot-cli\\.jar)"
          + "((?: +(?:<[^>\\s]+>|[^\\s`|;&>'\"]|\"[^\"]*\"|'[^']*')+)+)");

  record Documented(Path file, int line, String command, boolean usageErrorOnPurpose) {}

  @Test
  void everyDocumentedCommandParses() throws IOException {
    List<Documented> commands = documentedCommands();
    assertThat(commands).as("commands found in the docs").hasSizeGreaterThan(20);
    List<String> broken = new ArrayList<>();
    for (Documented d : commands) {
      String[] args = tokens(d.command());
      CommandLine cli = QueuePilotCli.commandLine(CliConfig.fromEnvironment(Map.of()));
      String failure = null;
      try {
        cli.parseArgs(args);
      } catch (CommandLine.ParameterException e) {
        failure = e.getMessage();
      }
      String where = ROOT.relativize(d.file()) + ":" + d.line() + ": queuepilot" + d.command();
      if (failure != null && !d.usageErrorOnPurpose()) {
        broken.add(where + "\n    " + failure);
      }
    }
    if (!broken.isEmpty()) {
      fail("documented commands the CLI does not accept:\n  " + String.join("\n  ", broken));
    }
  }

  @Test
  void aMisspeltOptionInTheDocsWouldFailThisTest() {
    CommandLine cli = QueuePilotCli.commandLine(CliConfig.fromEnvironment(Map.of()));
    String[] args = tokens(" dlq retry --all --codes x");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> cli.parseArgs(args))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--codes");
  }

  static List<Documented> documentedCommands() throws IOException {
    List<Path> files = new ArrayList<>();
    files.add(ROOT.resolve("README.md"));
    files.add(ROOT.resolve("helm/queuepilot/README.md"));
    files.add(ROOT.resolve("helm/queuepilot/templates/NOTES.txt"));
    try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
    }
    List<Documented> found = new ArrayList<>();
    for (Path f : files) {
      if (!Files.exists(f)) {
        continue;
      }
      List<String> lines = Files.readAllLines(f);
      boolean allCode = f.toString().endsWith(".txt");
      boolean fenced = false;
      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).trim().startsWith("```")) {
          fenced = !fenced;
          continue;
        }
        List<String> code = new ArrayList<>();
        if (fenced || allCode) {
          code.add(joinContinuations(lines, i));
        } else {
          Matcher inline = Pattern.compile("`([^`]+)`").matcher(lines.get(i));
          while (inline.find()) code.add(inline.group(1));
        }
        boolean usageError = false;
        for (int k = i + 1; k <= i + 3 && k < lines.size(); k++) {
          if (lines.get(k).equals("exit 1")) usageError = true;
          if (lines.get(k).startsWith("$ ")) break;
        }
        for (String c : code) {
          Matcher m = COMMAND.matcher(c);
          while (m.find()) {
            String command = trimShell(m.group(1));
            if (!command.isBlank()) found.add(new Documented(f, i + 1, command, usageError));
          }
        }
      }
    }
    return found;
  }

  private static String joinContinuations(List<String> lines, int i) {
    StringBuilder b = new StringBuilder(lines.get(i));
    int j = i;
    while (b.toString().endsWith("\\") && j + 1 < lines.size()) {
      b.setLength(b.length() - 1);
      b.append(' ').append(lines.get(++j).trim());
    }
    return b.toString();
  }

  /** Cuts what follows the command on a shell line: a comment, a pipe, a closing backtick, `&&`. */
  static String trimShell(String s) {
    String t = s;
    for (String end : new String[] {" #", "`", " |", " &&", " >", ";"}) {
      int k = indexOutsideQuotes(t, end);
      if (k >= 0) t = t.substring(0, k);
    }
    return t.replaceAll("\\s+$", "");
  }

  private static int indexOutsideQuotes(String s, String needle) {
    char quote = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (s.startsWith(needle, i)) {
        return i;
      }
    }
    return -1;
  }

  /** Shell words: quotes removed, {@code <placeholder>} replaced by a valid job id. */
  static String[] tokens(String command) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    char quote = 0;
    boolean inWord = false;
    for (char c : command.toCharArray()) {
      if (quote != 0) {
        if (c == quote) quote = 0;
        else cur.append(c);
      } else if (c == '"' || c == '\'') {
        quote = c;
        inWord = true;
      } else if (Character.isWhitespace(c)) {
        if (inWord) {
          out.add(cur.toString());
          cur.setLength(0);
          inWord = false;
        }
      } else {
        cur.append(c);
        inWord = true;
      }
    }
    if (inWord) out.add(cur.toString());
    return out.stream().filter(t -> !t.equals("$@")) // a wrapper script passing its arguments on
        .map(t -> t.matches("<[^>]+>") ? SAMPLE_ID : t).toArray(String[]::new);
  }
}
