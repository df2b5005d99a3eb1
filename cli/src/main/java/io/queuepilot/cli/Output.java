package io.queuepilot.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Renders command results: aligned plain-text tables for people, JSON for scripts. */
public final class Output {

  /** The one JSON mapper of the CLI (ISO-8601 instants, not epoch numbers). */
  public static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

  private Output() {}

  public static void json(PrintWriter out, Object value) {
    try {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new CliException(ExitCode.FAILURE, "could not write JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Prints {@code rows} under {@code headers} as columns padded to their widest cell. */
  public static void table(PrintWriter out, List<String> headers, List<List<String>> rows) {
    int[] widths = new int[headers.size()];
    List<List<String>> all = new ArrayList<>();
    all.add(headers);
    all.addAll(rows);
    for (List<String> row : all) {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], cell(row, i).length());
      }
    }
    for (List<String> row : all) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < widths.length; i++) {
        String c = cell(row, i);
        line.append(c);
        if (i < widths.length - 1) {
          line.append(" ".repeat(widths[i] - c.length() + 2));
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }

  private static String cell(List<String> row, int i) {
    String c = i < row.size() ? row.get(i) : "";
    return c == null ? "-" : c;
  }
}
