// pg-boss side of the benchmarks, its recommended way: bulk insert(), then work() with
// batchSize and localConcurrency, LISTEN/NOTIFY on (useListenNotify + a notify queue).
import { PgBoss } from "pg-boss";
import {
  nowUs, sleep, parseConfig, progressReporter, untilStdinCloses, summarize, result,
} from "./common.mjs";

const { command, config } = parseConfig();
const QUEUE = "noop";

function boss(max) {
  const b = new PgBoss({
    connectionString: config.url,
    max,
    useListenNotify: true,
    // The one-per-claim burst needs the ready count cache; refresh it every second.
    monitorIntervalSeconds: 1,
    queueCacheIntervalSeconds: 1,
    superviseIntervalSeconds: 1,
    schedule: false,
  });
  b.on("error", (e) => console.error(`[pg-boss error] ${e.message}`));
  return b;
}

async function setup() {
  const b = boss(2);
  await b.start();
  for (const name of [QUEUE, "latency"]) {
    await b.createQueue(name, { notify: true });
  }
  const count = config.count ?? 0;
  const chunk = 10_000;
  const t0 = nowUs();
  for (let from = 0; from < count; from += chunk) {
    const jobs = [];
    for (let i = from; i < Math.min(count, from + chunk); i++) jobs.push({ data: { id: i } });
    await b.insert(QUEUE, jobs);
  }
  const insertMs = (nowUs() - t0) / 1000; // its insert() takes 10,000 jobs per call
  await b.stop({ graceful: false, wait: true });
  result({ inserted: count, insertMs });
}

async function work() {
  const progress = progressReporter();
  const b = boss(config.pool);
  await b.start();
  const batchSize = config.batching ? config.batchSize : 1;
  const options = {
    batchSize,
    localConcurrency: config.concurrency,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    // Keep fetching while there is a backlog instead of waiting out the poll interval.
    ...(batchSize > 1 ? { burstWhenBatchFull: true } : { burstWhenReadyExceeds: 1 }),
  };
  await b.work(QUEUE, options, async (jobs) => {
    progress.started();
    progress.finished(jobs.length);
  });
  process.stdout.write("READY\n");
  await untilStdinCloses();
  await b.stop({ graceful: true, wait: true, timeout: 10_000 });
  progress.stop();
  result({ stopped: true });
}

async function latency() {
  const samples = config.samples ?? 1000;
  const warmup = config.warmup ?? 100;
  const gapMs = config.gapMs ?? 10;
  const b = boss(config.pool ?? 10);
  await b.start();
  const startTimes = new Map();
  const waiting = new Map();
  const latencies = [];
  await b.work("latency", { batchSize: 1, localConcurrency: 1 }, async ([job]) => {
    const t = nowUs();
    const id = job.data.id;
    latencies.push({ id, ms: (t - startTimes.get(id)) / 1000 });
    waiting.get(id)?.();
  });
  await sleep(1000);
  for (let id = -warmup; id < samples; id++) {
    const started = new Promise((resolve) => waiting.set(id, resolve));
    startTimes.set(id, nowUs());
    await b.send("latency", { id });
    await started;
    await sleep(gapMs);
  }
  await b.stop({ graceful: true, wait: true, timeout: 10_000 });
  result(summarize(latencies.filter((l) => l.id >= 0).map((l) => l.ms)));
}

const commands = { setup, work, latency };
commands[command]().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
