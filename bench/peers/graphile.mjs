// Graphile Worker side of the benchmarks, following its own perfTest method: bulk insert
// (add_jobs), then burn down with several worker processes, with and without its batching
// (localQueue + completeJobBatchDelay, the settings its performance page uses).
process.env.NO_LOG_SUCCESS = "1";
import pg from "pg";
import { run, runMigrations } from "graphile-worker";
import { Logger } from "@graphile/logger";
import {
  nowUs, sleep, parseConfig, progressReporter, untilStdinCloses, summarize, result,
} from "./common.mjs";

const quietLogger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile ${level}] ${message}`);
});

const { command, config } = parseConfig();
const url = config.url;

async function setup() {
  await runMigrations({ connectionString: url, logger: quietLogger });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const count = config.count ?? 0;
  const chunk = 50_000;
  const t0 = nowUs();
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await pool.query(
      `select count(*) from graphile_worker.add_jobs(array(
         select row('noop', json_build_object('id', i), null, null, null, null, null, null)::graphile_worker.job_spec
         from generate_series($1::int, $2::int) i))`,
      [from, to],
    );
  }
  const insertMs = (nowUs() - t0) / 1000;
  await pool.end();
  result({ inserted: count, insertMs });
}

function preset(batching) {
  return batching
    ? { worker: { localQueue: { size: config.localQueueSize ?? 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }
    : { worker: { localQueue: { size: -1 }, completeJobBatchDelay: -1, failJobBatchDelay: -1 } };
}

async function work() {
  const progress = progressReporter();
  const runner = await run({
    connectionString: url,
    concurrency: config.concurrency,
    maxPoolSize: config.pool,
    noHandleSignals: true,
    logger: quietLogger,
    preset: preset(config.batching),
    taskList: {
      noop: async () => {
        progress.started();
        progress.finished();
      },
    },
  });
  process.stdout.write("READY\n");
  await untilStdinCloses();
  await runner.stop();
  progress.stop();
  result({ stopped: true });
}

async function latency() {
  const samples = config.samples ?? 1000;
  const warmup = config.warmup ?? 100;
  const gapMs = config.gapMs ?? 10;
  const startTimes = new Map();
  const waiting = new Map();
  const latencies = [];
  const runner = await run({
    connectionString: url,
    concurrency: 1,
    maxPoolSize: config.pool ?? 10,
    noHandleSignals: true,
    logger: quietLogger,
    preset: preset(false),
    taskList: {
      latency: async ({ id }) => {
        const t = nowUs();
        latencies.push({ id, ms: (t - startTimes.get(id)) / 1000 });
        waiting.get(id)?.();
      },
    },
  });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  await sleep(1000);
  try {
    for (let id = -warmup; id < samples; id++) {
      const started = new Promise((resolve) => waiting.set(id, resolve));
      startTimes.set(id, nowUs());
      await client.query(`select graphile_worker.add_job('latency', json_build_object('id', $1::int))`, [id]);
      await started;
      await sleep(gapMs);
    }
  } finally {
    client.release();
  }
  await runner.stop();
  await pool.end();
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
