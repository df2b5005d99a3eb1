package io.queuepilot.worker.process;

import java.time.LocalDate;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * A clinical date as precise as the document gives it: {@code 2019} (year), {@code 2019-03}
 * (month) or {@code 2019-03-14} (day). write_back_extraction stores the first day of the period
 * and the precision, so "diagnosed 2019" is kept as 2019, never invented as 1 January.
 */
public final class PartialDate {

  private PartialDate() {}

  /** The precision of a valid partial date ({@code year}, {@code month}, {@code day}); empty if invalid. */
  public static Optional<String> precision(String s) {
    if (s == null) {
      return Optional.empty();
    }
    try {
      if (s.matches("\\d{4}")) {
        int y = Integer.parseInt(s);
        return y >= 1 ? Optional.of("year") : Optional.empty();
      }
      if (s.matches("\\d{4}-\\d{2}")) {
        YearMonth.parse(s);
        return Optional.of("month");
      }
      if (s.matches("\\d{4}-\\d{2}-\\d{2}")) {
        LocalDate.parse(s);
        return Optional.of("day");
      }
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
