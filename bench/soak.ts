// Soak (issue 6): 200,000 messages through local mode (`npm start`'s server) with bounded memory and no
// file-descriptor or timer leaks. See bench/soak/README.md.
//
//   npm run soak                       # 200,000 messages
//   npm run soak -- --quick            # 20,000 messages
//   npm run soak -- --messages=50000 --interval=2 --settle=30
//
// Herald runs as `node bin/herald-local.ts` in its own process with a fresh data directory; the publisher
// (official SDK) and the sink run in their own processes. Herald is sampled every few seconds: RSS
// (/proc/<pid>/status VmRSS), open fds (/proc/<pid>/fd), and — through bench/soak/probe.ts, preloaded with
// `--import` so Herald's code is unchanged — its active timers and handles and V8 heap. Not part of `npm test`.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { machineInfo } from "./machine.ts";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Helper, startHerald, type HeraldChild } from "./local/processes.ts";
import { round } from "./local/stats.ts";
import type { LoadResult } from "./soak/load.ts";
import type { ProbeReply } from "./soak/probe.ts";
import type { SinkStats } from "./soak/sink.ts";
import { soakChart } from "./soak/chart.ts";

// Pass thresholds (see bench/soak/README.md for why these numbers).
/** RSS growth over the second half of the load (least-squares trend), MB. */
const MAX_RSS_GROWTH_MB = 32;
/** V8 heap after a full GC, idle after the run vs idle before it, MB. */
const MAX_HEAP_GROWTH_MB = 10;

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
};
const quick = args.includes("--quick");
const messages = Math.round(option("messages", quick ? 20_000 : 200_000));
const intervalMs = option("interval", 2) * 1000;
const settleMs = option("settle", 30) * 1000;
const concurrency = Math.round(option("concurrency", 32));
/** Give up waiting for deliveries after this long without one arriving. */
const STALL_MS = 120_000;

const log = (line: string): void => console.error(line);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): number => round(bytes / 2 ** 20);

interface Sample {
  t_s: number;
  phase: "baseline" | "load" | "settle" | "end";
  published: number;
  delivered: number;
  rss_mb: number;
  /** RSS split as /proc reports it: anonymous memory (heap, malloc), file-backed pages, shared memory. */
  rss_anon_mb: number;
  rss_file_mb: number;
  rss_shmem_mb: number;
  heap_total_mb: number;
  heap_used_mb: number;
  external_mb: number;
  fds: number;
  timers: number;
  /** Active resources other than timers (sockets, servers, requests in progress). */
  handles: number;
  load_1m: number;
}

/** VmRSS and its parts, in bytes, from /proc/<pid>/status. */
function rssOf(pid: number): { total: number; anon: number; file: number; shmem: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1]) * 1024;
  return { total: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), shmem: kb("RssShmem") };
}

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}

/** Asks the probe inside Herald (bench/soak/probe.ts); `gc` runs a full GC first. */
function makeProbe(herald: HeraldChild): (gc?: boolean) => Promise<ProbeReply> {
  let nextId = 1;
  return (gc = false) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        herald.child.off("message", onMessage);
        reject(new Error("the probe in Herald did not answer within 30 s"));
      }, 30_000);
      const onMessage = (raw: unknown): void => {
        const reply = raw as { id: number; result: ProbeReply };
        if (reply.id !== id) return;
        clearTimeout(timer);
        herald.child.off("message", onMessage);
        resolve(reply.result);
      };
      herald.child.on("message", onMessage);
      herald.child.send({ id, gc });
    });
}

const timersOf = (r: Record<string, number>): number => r.Timeout ?? 0;
const handlesOf = (r: Record<string, number>): number =>
  Object.entries(r).reduce((n, [type, count]) => (type === "Timeout" ? n : n + count), 0);

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

const started = Date.now();
const load1Start = loadavg()[0] as number;
const dataDir = mkdtempSync(join(tmpdir(), "herald-soak-"));
const sink = await Helper.start("sink", "../soak/sink.ts");
const load = await Helper.start("load", "../soak/load.ts");
const herald = await startHerald({
  dataDir,
  token: `soak_${randomBytes(12).toString("hex")}`,
  ipc: true,
  execArgv: ["--expose-gc", "--import", pathToFileURL(join(import.meta.dirname, "soak", "probe.ts")).href],
});
const probe = makeProbe(herald);
const sinkUrl = `http://127.0.0.1:${sink.port}`;
log(`Herald pid ${herald.pid} at ${herald.url}, data in ${dataDir}; ${messages} messages, ${concurrency} in flight`);

const samples: Sample[] = [];
let phase: Sample["phase"] = "baseline";
let published = 0;
const takeSample = async (gc = false): Promise<{ sample: Sample; reply: ProbeReply }> => {
  const [reply, stats] = await Promise.all([probe(gc), sink.call<SinkStats>({ type: "stats" })]);
  const rss = rssOf(herald.pid);
  const sample: Sample = {
    t_s: round((Date.now() - started) / 1000),
    phase,
    published,
    delivered: stats.delivered,
    rss_mb: mb(rss.total),
    rss_anon_mb: mb(rss.anon),
    rss_file_mb: mb(rss.file),
    rss_shmem_mb: mb(rss.shmem),
    heap_used_mb: mb(reply.heapUsed),
    heap_total_mb: mb(reply.heapTotal),
    external_mb: mb(reply.external),
    fds: fdCount(herald.pid),
    timers: timersOf(reply.resources),
    handles: handlesOf(reply.resources),
    load_1m: round(loadavg()[0] as number),
  };
  samples.push(sample);
  return { sample, reply };
};

async function runSoak() {
  try {
    await sleep(2000);
    const baseline = await takeSample(true);
    log(`baseline: ${JSON.stringify(baseline.sample)} ${JSON.stringify(baseline.reply.resources)}`);

    // Sample in the background until told to stop.
    let sampling = true;
    let loadRunning = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(intervalMs);
        if (!sampling) break;
        let sample: Sample;
        try {
          if (loadRunning) published = (await load.call<{ published: number }>({ type: "progress" })).published;
          sample = (await takeSample()).sample;
        } catch (error) {
          log(`sample failed: ${String(error)}`);
          continue;
        }
        log(
          `${sample.t_s.toFixed(0).padStart(5)} s ${sample.phase.padEnd(6)} published ${sample.published} ` +
            `delivered ${sample.delivered}  RSS ${sample.rss_mb} MB heap ${sample.heap_used_mb} MB ` +
            `fds ${sample.fds} timers ${sample.timers} handles ${sample.handles} load ${sample.load_1m}`,
        );
      }
    })();

    phase = "load";
    const loadStartT = (Date.now() - started) / 1000;
    const run = await load.call<LoadResult>({
      type: "run",
      baseUrl: herald.url,
      token: herald.token,
      sinkUrl,
      messages,
      concurrency,
    });
    loadRunning = false;
    published = messages;
    const failedPublishes = Object.values(run.failed).reduce((a, b) => a + b, 0);
    log(
      `published: ${run.accepted.length} accepted, ${failedPublishes} failed in ${(run.doneAt - run.startedAt) / 1000} s`,
    );
    await load.stop(); // its keep-alive connections to Herald close with it

    // Wait until every accepted message (and callback) arrived, or nothing arrived for STALL_MS.
    let stats = await sink.call<SinkStats>({ type: "stats" });
    let lastProgress = Date.now();
    let lastCount = -1;
    while (stats.delivered < run.accepted.length || stats.callbacks < run.withCallback.length) {
      const count = stats.delivered + stats.callbacks;
      if (count !== lastCount) lastProgress = Date.now();
      else if (Date.now() - lastProgress > STALL_MS) {
        log(`no delivery for ${STALL_MS / 1000} s: giving up waiting`);
        break;
      }
      lastCount = count;
      await sleep(250);
      stats = await sink.call<SinkStats>({ type: "stats" });
    }
    const drainedAt = Math.max(stats.lastAt, run.doneAt);
    const drainT = (drainedAt - started) / 1000;
    const endOfLoad = await takeSample();
    log(`drained: ${stats.delivered} delivered, ${stats.callbacks} callbacks; settling ${settleMs / 1000} s`);

    phase = "settle";
    await sleep(settleMs);
    sampling = false;
    await sampler;
    phase = "end";
    const settled = await takeSample();
    const end = await takeSample(true);
    log(`end: ${JSON.stringify(end.sample)} ${JSON.stringify(end.reply.resources)}`);
    const dataDirBytes = dirBytes(dataDir);

    const ids = await sink.call<{ delivered: string[]; callbacks: string[] }>({ type: "ids" });
    const delivered = new Set(ids.delivered);
    const accepted = new Set(run.accepted);
    const calledBack = new Set(ids.callbacks);
    const lost = run.accepted.filter((id) => !delivered.has(id)).length;
    const unexpected = ids.delivered.filter((id) => !accepted.has(id)).length;
    const callbacksMissing = run.withCallback.filter((id) => !calledBack.has(id)).length;

    const loadSamples = samples.filter((s) => s.phase === "load");
    const midT = (loadStartT + drainT) / 2;
    const secondHalf = loadSamples.filter((s) => s.t_s >= midT);
    const firstHalf = loadSamples.filter((s) => s.t_s < midT);
    const rssTrendGrowth = slope(secondHalf.map((s) => [s.t_s, s.rss_mb])) * (drainT - midT);
    const maxOf = (list: Sample[], key: keyof Sample): number => Math.max(...list.map((s) => s[key] as number));
    const heapGrowth = end.sample.heap_used_mb - baseline.sample.heap_used_mb;
    const resourcesGrown = Object.entries(end.reply.resources)
      .filter(([type, count]) => count > (baseline.reply.resources[type] ?? 0))
      .map(([type, count]) => `${type} ${baseline.reply.resources[type] ?? 0} -> ${count}`);

    const criteria = [
      { name: "accepted messages lost", value: lost, limit: "= 0", pass: lost === 0 },
      { name: "callbacks missing", value: callbacksMissing, limit: "= 0", pass: callbacksMissing === 0 },
      { name: "publishes failed", value: failedPublishes, limit: "= 0", pass: failedPublishes === 0 },
      {
        name: "RSS growth over the second half of the load (trend), MB",
        value: round(rssTrendGrowth),
        limit: `< ${MAX_RSS_GROWTH_MB}`,
        pass: rssTrendGrowth < MAX_RSS_GROWTH_MB,
      },
      {
        name: "V8 heap after GC, end - start, MB",
        value: round(heapGrowth),
        limit: `< ${MAX_HEAP_GROWTH_MB}`,
        pass: heapGrowth < MAX_HEAP_GROWTH_MB,
      },
      {
        name: "open fds, end - start",
        value: end.sample.fds - baseline.sample.fds,
        limit: "<= 0",
        pass: end.sample.fds <= baseline.sample.fds,
      },
      {
        name: "active timers, end - start",
        value: end.sample.timers - baseline.sample.timers,
        limit: "<= 0",
        pass: end.sample.timers <= baseline.sample.timers,
      },
      {
        name: "active handles above baseline (by type)",
        value: resourcesGrown.length,
        limit: "= 0",
        pass: resourcesGrown.length === 0,
      },
    ];
    const publishS = (run.doneAt - run.startedAt) / 1000;
    return {
      date: new Date().toISOString(),
      mode: quick ? "quick" : "full",
      machine: machineInfo(),
      load_avg_1m: { start: round(load1Start), max: maxOf(samples, "load_1m"), end: round(loadavg()[0] as number) },
      pass: criteria.every((c) => c.pass),
      criteria,
      settings: { messages, concurrency, interval_s: intervalMs / 1000, settle_s: settleMs / 1000 },
      messages: {
        accepted: run.accepted.length,
        publish_failures: failedPublishes,
        publish_failures_by_error: run.failed,
        single_publishes: run.singlePublishes,
        batch_publishes: run.batchPublishes,
        delayed_1_to_5_s: run.delayed,
        fail_once_then_retried: run.failOnce,
        with_callback: run.withCallback.length,
        delivered_unique: delivered.size,
        lost,
        unexpected,
        duplicates: stats.duplicates,
        deliveries_after_a_retry: stats.retriedDeliveries,
        first_attempts_failed_by_sink: stats.failedOnce,
        callbacks_received: calledBack.size,
        callbacks_missing: callbacksMissing,
        callback_duplicates: stats.callbackDuplicates,
        sink_requests: stats.requests,
      },
      duration_s: {
        publish: round(publishS),
        publish_to_last_delivery: round((drainedAt - run.startedAt) / 1000),
        total: round((Date.now() - started) / 1000),
      },
      throughput: {
        publish_msg_per_s: round(run.accepted.length / publishS),
        end_to_end_msg_per_s: round(delivered.size / ((drainedAt - run.startedAt) / 1000)),
      },
      rss_mb: {
        start: baseline.sample.rss_mb,
        peak: maxOf(samples, "rss_mb"),
        max_first_half_of_load: maxOf(firstHalf, "rss_mb"),
        max_second_half_of_load: maxOf(secondHalf, "rss_mb"),
        growth_second_half_trend: round(rssTrendGrowth),
        end_of_load: endOfLoad.sample.rss_mb,
        after_settle: settled.sample.rss_mb,
        after_settle_and_gc: end.sample.rss_mb,
      },
      rss_parts_mb: {
        start: {
          anon: baseline.sample.rss_anon_mb,
          file: baseline.sample.rss_file_mb,
          shmem: baseline.sample.rss_shmem_mb,
        },
        end: { anon: end.sample.rss_anon_mb, file: end.sample.rss_file_mb, shmem: end.sample.rss_shmem_mb },
      },
      heap_total_mb: {
        start: baseline.sample.heap_total_mb,
        peak: maxOf(samples, "heap_total_mb"),
        end: end.sample.heap_total_mb,
      },
      heap_used_after_gc_mb: { start: baseline.sample.heap_used_mb, end: end.sample.heap_used_mb },
      heap_used_peak_mb: maxOf(samples, "heap_used_mb"),
      fds: { start: baseline.sample.fds, peak: maxOf(samples, "fds"), end: end.sample.fds },
      timers: { start: baseline.sample.timers, peak: maxOf(samples, "timers"), end: end.sample.timers },
      handles: { start: baseline.sample.handles, peak: maxOf(samples, "handles"), end: end.sample.handles },
      resources_start: baseline.reply.resources,
      resources_end: end.reply.resources,
      resources_above_baseline: resourcesGrown,
      data_dir_bytes: dataDirBytes,
      data_dir_mb: mb(dataDirBytes),
      marks_s: {
        load_start: round(loadStartT),
        last_publish: round((run.doneAt - started) / 1000),
        drained: round(drainT),
      },
      samples: samples.sort((a, b) => a.t_s - b.t_s),
    };
  } finally {
    await herald.stop();
    await Promise.all([sink.stop(), load.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const r = await runSoak();
const { criteria, messages: m } = r;
console.log(`\nHerald soak (${messages} messages, ${r.mode})`);
console.log(
  `  accepted ${m.accepted}, delivered ${m.delivered_unique}, lost ${m.lost}, duplicates ${m.duplicates}, ` +
    `unexpected ${m.unexpected}; callbacks ${m.callbacks_received}/${m.with_callback}; ` +
    `retried after a 500: ${m.deliveries_after_a_retry}`,
);
console.log(`  durations ${JSON.stringify(r.duration_s)}, throughput ${JSON.stringify(r.throughput)}`);
console.log(`  RSS MB ${JSON.stringify(r.rss_mb)}`);
console.log(`  heap after GC MB ${JSON.stringify(r.heap_used_after_gc_mb)}, fds ${JSON.stringify(r.fds)}`);
console.log(`  timers ${JSON.stringify(r.timers)}, handles ${JSON.stringify(r.handles)}`);
console.log(`  data dir ${r.data_dir_mb} MB, load average ${JSON.stringify(r.load_avg_1m)} (${cpus().length} cores)`);
for (const c of criteria) console.log(`  ${c.pass ? "pass" : "FAIL"}  ${c.name}: ${c.value} (${c.limit})`);
console.log(r.pass ? "PASS" : "FAIL");

const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
const name = quick || messages !== 200_000 ? "soak-quick" : "soak";
// Indented, but one line per sample.
const text = `${JSON.stringify({ ...r, samples: "SAMPLES" }, null, 2).replace(
  '"SAMPLES"',
  `[\n${samples.map((s) => `    ${JSON.stringify(s)}`).join(",\n")}\n  ]`,
)}\n`;
writeFileSync(join(dir, `${name}.json`), text);
writeFileSync(join(dir, `${r.date.slice(0, 10)}-${name}.json`), text);
const marks = r.marks_s;
writeFileSync(
  join(dir, `${name}.svg`),
  soakChart(
    samples,
    [
      { t_s: marks.load_start, label: "load starts" },
      { t_s: marks.last_publish, label: "last publish" },
      { t_s: marks.drained, label: "all delivered" },
    ],
    `Herald local mode, ${messages} messages: Herald process over time (${r.date.slice(0, 10)})`,
  ),
);
console.log(`written: bench/results/${name}.json, ${name}.svg`);
process.exitCode = r.pass ? 0 : 1;
