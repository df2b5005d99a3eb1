// Shared by the peer scripts: the line protocol the Java orchestrator (io.queuepilot.bench) reads.
//   READY                                  the process is connected and its worker runs
//   STAT <handled> <firstStartUs> <lastEndUs>   every 100 ms while working (epoch microseconds)
//   RESULT <json>                          the final figures of a command
// A worker process stops gracefully when its standard input closes.
import { performance } from "node:perf_hooks";

/** Wall-clock time in epoch microseconds with sub-millisecond resolution (same clock as Java's Instant). */
export const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function parseConfig() {
  const [command, json] = process.argv.slice(2);
  if (!command) {
    console.error("usage: <script> setup|work|latency '<json config>'");
    process.exit(2);
  }
  return { command, config: json ? JSON.parse(json) : {} };
}

/** Counts handled jobs and reports them; returns a {handled(), stop} pair. */
export function progressReporter() {
  let handled = 0;
  let firstStartUs = 0;
  let lastEndUs = 0;
  const report = () => process.stdout.write(`STAT ${handled} ${firstStartUs} ${lastEndUs}\n`);
  const timer = setInterval(report, 100);
  return {
    started() {
      if (firstStartUs === 0) firstStartUs = nowUs();
    },
    finished(n = 1) {
      handled += n;
      lastEndUs = nowUs();
    },
    stop() {
      clearInterval(timer);
      report();
    },
  };
}

/** Resolves when the orchestrator closes our standard input. */
export function untilStdinCloses() {
  return new Promise((resolve) => {
    process.stdin.on("data", () => {});
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
}

/** p50/p99/max etc. of a list of millisecond samples. */
export function summarize(samplesMs) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    samples: sorted.length,
    minMs: sorted[0],
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    maxMs: sorted[sorted.length - 1],
    avgMs: sorted.reduce((s, x) => s + x, 0) / sorted.length,
  };
}

export function result(obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}
