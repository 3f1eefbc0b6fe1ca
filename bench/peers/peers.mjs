// The queues users would pick instead of taskstore's, each draining N no-op jobs the way
// its documentation recommends for throughput, timed from the moment the workers start
// until every job is done, with every job checked handled exactly once. Writes a JSON file
// in Google Benchmark's shape ("peer_queue/<peer>/tasks:N/workers:W", items_per_second),
// so bench/plot reads it beside taskstore-bench's own:
//   node peers.mjs --out FILE [--tasks N] [--only plainjob,pgboss,graphile]
// PostgreSQL peers run when TASKSTORE_PG names a server (the libpq key=value form the
// rest of the benchmark takes); each works in a schema of its own, dropped first.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const tasks = Number(option("tasks", "20000"));
const out = option("out", "");
const only = option("only", "plainjob,pgboss,graphile").split(",");
const me = fileURLToPath(import.meta.url);

// "host=/tmp/pg port=5432 user=u dbname=d password=p" -> node-postgres' config.
function pgConfig(conninfo) {
  const config = {};
  for (const [, key, value] of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const v = value.startsWith("'") ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value;
    const name = { dbname: "database" }[key] ?? key;
    if (["host", "port", "user", "database", "password"].includes(name)) config[name] = name === "port" ? Number(v) : v;
  }
  return config;
}

// Every job carries its number; a job handled twice, or one never handled, fails the run.
class Ledger {
  constructor(n) { this.seen = new Uint8Array(n); this.handled = 0; this.twice = 0; }
  mark(i) { if (this.seen[i]++) this.twice++; else this.handled++; }
  verdict(n) {
    if (this.twice) return `${this.twice} jobs handled more than once`;
    if (this.handled !== n) return `${n - this.handled} jobs never handled`;
    return null;
  }
}

const figures = [];
function record(peer, workers, seconds, error) {
  const name = `peer_queue/${peer}/tasks:${tasks}/workers:${workers}`;
  const entry = { name, run_name: name, run_type: "iteration", iterations: 1,
                  real_time: seconds * 1e9, time_unit: "ns" };
  if (error) Object.assign(entry, { error_occurred: true, error_message: error });
  else entry.items_per_second = tasks / seconds;
  figures.push(entry);
  console.log(`${name}: ${error ? "FAILED: " + error : Math.round(tasks / seconds) + " jobs/s"}`);
}

// plainjob on better-sqlite3 (WAL, synchronous=NORMAL, as plainjob sets it): one worker
// process per core, as its README's multi-process example does.
async function plainjob() {
  const { default: Database } = await import("better-sqlite3");
  const { better, defineQueue, JobStatus } = await import("plainjob");
  const dir = mkdtempSync(path.join(process.env.TASKSTORE_BENCH_DIR ?? os.tmpdir(), "peers-plainjob-"));
  const file = path.join(dir, "queue.db");
  try {
    const queue = defineQueue({ connection: better(new Database(file)), logger: quiet });
    const jobs = Array.from({ length: tasks }, (_, i) => ({ i }));
    for (let i = 0; i < jobs.length; i += 1000) queue.addMany("bench", jobs.slice(i, i + 1000));
    const workers = os.cpus().length;
    const ledger = new Ledger(tasks);
    const children = Array.from({ length: workers }, () => fork(me, ["--plainjob-worker", file]));
    await Promise.all(children.map((c) => new Promise((ok) => c.once("message", ok))));  // ready
    const start = performance.now();
    children.forEach((c) => c.send("start"));
    while (queue.countJobs({ type: "bench", status: JobStatus.Done }) < tasks) await sleep(2);
    const seconds = (performance.now() - start) / 1000;
    const lists = await Promise.all(children.map((c) => new Promise((ok) => {
      c.once("message", ok);
      c.send("stop");
    })));
    lists.flat().forEach((i) => ledger.mark(i));
    queue.close();
    record("plainjob", workers, seconds, ledger.verdict(tasks));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function plainjobWorker(file) {
  const { default: Database } = await import("better-sqlite3");
  const { better, defineQueue, defineWorker } = await import("plainjob");
  const queue = defineQueue({ connection: better(new Database(file)), logger: quiet });
  const handled = [];
  const worker = defineWorker("bench", (job) => { handled.push(JSON.parse(job.data).i); },
                              { queue, logger: quiet });
  process.on("message", async (message) => {
    if (message === "start") void worker.start();
    if (message === "stop") {
      await worker.stop();
      process.send(handled, () => process.exit(0));
    }
  });
  process.send("ready");
}

// pg-boss: four loops each fetching up to 100 jobs and completing them in one call, the
// fetch/complete API its docs give for control over throughput (work()'s loop waits out
// its polling interval, at least 0.5 s, after every batch, however full).
async function pgboss(config) {
  const { PgBoss } = await import("pg-boss");
  await dropSchema(config, "taskstore_peer_pgboss");
  const boss = new PgBoss({ ...config, schema: "taskstore_peer_pgboss", supervise: false, schedule: false });
  boss.on("error", (e) => console.error("pg-boss:", e.message));
  await boss.start();
  await boss.createQueue("bench");
  for (let i = 0; i < tasks; i += 1000) {
    await boss.insert("bench", Array.from({ length: Math.min(1000, tasks - i) }, (_, k) => ({ data: { i: i + k } })));
  }
  const ledger = new Ledger(tasks);
  const workers = 4;
  const loop = async () => {
    for (;;) {
      const jobs = await boss.fetch("bench", { batchSize: 100 });
      if (!jobs.length) return;  // every job is fetched: the others finish theirs
      jobs.forEach((job) => ledger.mark(job.data.i));
      await boss.complete("bench", jobs.map((job) => job.id));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, loop));
  const seconds = (performance.now() - start) / 1000;
  const { default: pg } = await import("pg");
  const client = new pg.Client(config);
  await client.connect();
  const left = (await client.query(
    "SELECT count(*)::int AS n FROM taskstore_peer_pgboss.job WHERE name = 'bench' AND state <> 'completed'")).rows[0].n;
  await client.end();
  await boss.stop({ graceful: true, wait: true });
  record("pgboss", workers, seconds, left ? `${left} jobs not completed` : ledger.verdict(tasks));
}

// graphile-worker: a local queue of 100, four concurrent jobs and completions batched
// (completeJobBatchDelay 0), as its performance docs suggest for many short jobs.
async function graphile(config) {
  const { run, makeWorkerUtils, Logger } = await import("graphile-worker");
  const logger = new Logger(() => (level, message) => { if (level === "error") console.error(message); });
  const { default: pg } = await import("pg");
  await dropSchema(config, "taskstore_peer_graphile");
  const pgPool = new pg.Pool({ ...config, max: 10 });
  pgPool.on("error", (e) => console.error("graphile-worker pool:", e.message));
  pgPool.on("connect", (client) => client.on("error", (e) => console.error("graphile-worker client:", e.message)));
  const preset = { worker: { schema: "taskstore_peer_graphile", concurrentJobs: 4,
                             localQueue: { size: 100 }, completeJobBatchDelay: 0,
                             pollInterval: 100 } };
  const utils = await makeWorkerUtils({ pgPool, preset, logger });
  await utils.migrate();
  for (let i = 0; i < tasks; i += 1000) {
    await utils.addJobs(Array.from({ length: Math.min(1000, tasks - i) },
                                   (_, k) => ({ identifier: "bench", payload: { i: i + k } })));
  }
  const ledger = new Ledger(tasks);
  let done;
  const finished = new Promise((ok) => { done = ok; });
  const start = performance.now();
  const runner = await run({ pgPool, preset, noHandleSignals: true, logger,
                             taskList: { bench: async (payload) => {
                               ledger.mark(payload.i);
                               if (ledger.handled + ledger.twice >= tasks) done();
                             } } });
  await finished;
  const left = async () => (await pgPool.query("SELECT count(*)::int AS n FROM taskstore_peer_graphile._private_jobs")).rows[0].n;
  while ((await left()) > 0) await sleep(2);  // completed jobs are deleted
  const seconds = (performance.now() - start) / 1000;
  await runner.stop();
  await utils.release();
  await pgPool.end();
  record("graphile", 4, seconds, ledger.verdict(tasks));
}

async function dropSchema(config, schema) {
  const { default: pg } = await import("pg");
  const client = new pg.Client(config);
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

const quiet = { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function main() {
  if (argv[0] === "--plainjob-worker") return plainjobWorker(argv[1]);
  const runs = { plainjob: () => plainjob() };
  if (process.env.TASKSTORE_PG) {
    const config = pgConfig(process.env.TASKSTORE_PG);
    runs.pgboss = () => pgboss(config);
    runs.graphile = () => graphile(config);
  } else {
    console.error("postgres peers skipped: TASKSTORE_PG is not set");
  }
  for (const name of only) {
    if (!runs[name]) continue;
    try {
      await runs[name]();
    } catch (e) {
      record(name, 0, 0, String(e?.message ?? e));
    }
  }
  const report = { context: { date: new Date().toISOString(), host_name: os.hostname(),
                              num_cpus: os.cpus().length, node: process.version, taskstore_peers: true },
                   benchmarks: figures };
  if (out) writeFileSync(out, JSON.stringify(report, null, 2));
  process.exitCode = figures.some((f) => f.error_occurred) ? 1 : 0;
}

await main();
