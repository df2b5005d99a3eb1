package io.queuepilot.bench;

import java.util.Arrays;

/** A repeated figure: its median and its range over the runs. */
record Spread(double median, double min, double max, int runs) {

  static Spread of(double... values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return new Spread(median, v[0], v[n - 1], n);
  }

  /** {@code median (min–max)} with the given number format. */
  String format(String number) {
    return number.formatted(median) + " (" + number.formatted(min) + "–" + number.formatted(max) + ")";
  }
}
