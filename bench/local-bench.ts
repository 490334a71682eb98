// Local benchmark (issue 5, local part): Herald's `npm start` mode against bare node:http ceilings measured in
// the same run, with the same client and the same sink. See bench/local/README.md for the set-up and what
// each figure means.
//
//   npx node bench/local-bench.ts [--quick] [--profile]
//
// `runLocalBench` is what the suite runner calls; run standalone, this file prints a table and the JSON.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ClosedResult, OpenResult, Target, DelayResult } from "./local/load-client.ts";
import { cpuMs, Helper, startHerald, type HeraldChild } from "./local/processes.ts";
import { median, round, summarize } from "./local/stats.ts";
import { formatLocalTable } from "./local/local-table.ts";

export interface LocalBenchOptions {
  quick: boolean;
  log?: (line: string) => void;
  /** Start Herald with --cpu-prof, writing its profile(s) into this directory. */
  profileDir?: string;
}

/** Flat figures, each the median over `runs` runs (ratios: the median of each run's own ratio). */
export interface LocalBenchResult {
  runs: number;
  quick: number;
  /** Concurrent keep-alive connections of the closed-loop client. */
  connections: number;
  /** Publish requests/s accepted, closed loop; deliveries deferred (`Upstash-Delay: 1h`), see README. */
  publish_rps: number;
  publish_ceiling_rps: number;
  publish_ratio: number;
  /** The same with immediate delivery to the sink going on meanwhile. */
  publish_with_delivery_rps: number;
  /** CPU time of the server process per request during the publish measurement (Linux only). */
  publish_cpu_us: number;
  publish_ceiling_cpu_us: number;
  publish_p50_ms_at_1000: number;
  publish_p99_ms_at_1000: number;
  /** The same offered load with deliveries deferred (`Upstash-Delay: 1h`): the API path alone. */
  publish_deferred_p50_ms_at_1000: number;
  publish_deferred_p99_ms_at_1000: number;
  publish_ceiling_p50_ms_at_1000: number;
  publish_ceiling_p99_ms_at_1000: number;
  e2e_messages: number;
  e2e_mps: number;
  e2e_relay_mps: number;
  e2e_ratio: number;
  /** CPU time of Herald, and of the relay, per message delivered end to end (single publishes). */
  e2e_cpu_us: number;
  e2e_relay_cpu_us: number;
  e2e_batch_messages: number;
  e2e_batch_size: number;
  e2e_batch_mps: number;
  e2e_batch_relay_mps: number;
  e2e_batch_ratio: number;
  delay_messages: number;
  delay_min_s: number;
  delay_max_s: number;
  delay_lateness_p50_ms: number;
  delay_lateness_p99_ms: number;
  delay_lateness_max_ms: number;
  /** Failed (non-2xx or no response) requests over the whole run, Herald and ceilings; should be 0. */
  errors: number;
  /** 1-minute load average before the run: other work on the machine makes every figure noisier. */
  load_avg_1m: number;
  duration_s: number;
}

interface Settings {
  runs: number;
  connections: number;
  warmupMs: number;
  publishMs: number;
  latencyRate: number;
  latencyMs: number;
  e2eMessages: number;
  batchSize: number;
  batchConnections: number;
  batches: number;
  delayMessages: number;
  delaySpanMs: number;
  delayMinSec: number;
  delayMaxSec: number;
}

const FULL: Settings = {
  runs: 3,
  connections: 32,
  warmupMs: 1000,
  publishMs: 5000,
  latencyRate: 1000,
  latencyMs: 8000,
  e2eMessages: 10_000,
  batchSize: 100,
  batchConnections: 8,
  batches: 100,
  delayMessages: 600,
  delaySpanMs: 6000,
  delayMinSec: 1,
  delayMaxSec: 10,
};

const QUICK: Settings = {
  ...FULL,
  runs: 1,
  warmupMs: 500,
  publishMs: 2000,
  latencyMs: 3000,
  e2eMessages: 3000,
  batches: 40,
  delayMessages: 150,
  delaySpanMs: 1500,
  delayMaxSec: 5,
};

const BODY = JSON.stringify({ hello: "world", text: "a small JSON body, as a webhook would carry" });

interface Processes {
  client: Helper;
  sink: Helper;
  ceiling: Helper;
  relay: Helper;
}

/** One run's figures, before the medians. */
type RunFigures = Omit<
  LocalBenchResult,
  | "runs"
  | "quick"
  | "connections"
  | "e2e_messages"
  | "e2e_batch_messages"
  | "e2e_batch_size"
  | "delay_messages"
  | "delay_min_s"
  | "delay_max_s"
  | "load_avg_1m"
  | "duration_s"
>;

export async function runLocalBench(options: LocalBenchOptions): Promise<LocalBenchResult> {
  const started = Date.now();
  const load = loadavg()[0] as number;
  const log = options.log ?? (() => undefined);
  const s = options.quick ? QUICK : FULL;
  const processes: Processes = {
    client: await Helper.start("load client", "./load-client.ts"),
    sink: await Helper.start("sink", "./sink.ts"),
    ceiling: await Helper.start("publish ceiling", "./ceiling.ts"),
    relay: await Helper.start("relay", "./relay.ts"),
  };
  const runs: RunFigures[] = [];
  try {
    for (let run = 0; run < s.runs; run++) {
      log(`run ${run + 1}/${s.runs}`);
      runs.push(await oneRun(processes, s, run, log, options.profileDir));
    }
  } finally {
    await Promise.all(Object.values(processes).map((p) => p.stop()));
  }
  const pick = (key: keyof RunFigures): number => round(median(runs.map((r) => r[key])));
  return {
    runs: s.runs,
    quick: options.quick ? 1 : 0,
    connections: s.connections,
    publish_rps: pick("publish_rps"),
    publish_ceiling_rps: pick("publish_ceiling_rps"),
    publish_ratio: pick("publish_ratio"),
    publish_with_delivery_rps: pick("publish_with_delivery_rps"),
    publish_cpu_us: pick("publish_cpu_us"),
    publish_ceiling_cpu_us: pick("publish_ceiling_cpu_us"),
    publish_p50_ms_at_1000: pick("publish_p50_ms_at_1000"),
    publish_p99_ms_at_1000: pick("publish_p99_ms_at_1000"),
    publish_deferred_p50_ms_at_1000: pick("publish_deferred_p50_ms_at_1000"),
    publish_deferred_p99_ms_at_1000: pick("publish_deferred_p99_ms_at_1000"),
    publish_ceiling_p50_ms_at_1000: pick("publish_ceiling_p50_ms_at_1000"),
    publish_ceiling_p99_ms_at_1000: pick("publish_ceiling_p99_ms_at_1000"),
    e2e_messages: s.e2eMessages,
    e2e_mps: pick("e2e_mps"),
    e2e_relay_mps: pick("e2e_relay_mps"),
    e2e_ratio: pick("e2e_ratio"),
    e2e_cpu_us: pick("e2e_cpu_us"),
    e2e_relay_cpu_us: pick("e2e_relay_cpu_us"),
    e2e_batch_messages: s.batches * s.batchSize,
    e2e_batch_size: s.batchSize,
    e2e_batch_mps: pick("e2e_batch_mps"),
    e2e_batch_relay_mps: pick("e2e_batch_relay_mps"),
    e2e_batch_ratio: pick("e2e_batch_ratio"),
    delay_messages: s.delayMessages,
    delay_min_s: s.delayMinSec,
    delay_max_s: s.delayMaxSec,
    delay_lateness_p50_ms: pick("delay_lateness_p50_ms"),
    delay_lateness_p99_ms: pick("delay_lateness_p99_ms"),
    delay_lateness_max_ms: pick("delay_lateness_max_ms"),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    load_avg_1m: round(load),
    duration_s: Math.round((Date.now() - started) / 1000),
  };
}

async function oneRun(
  p: Processes,
  s: Settings,
  run: number,
  log: (line: string) => void,
  profileDir: string | undefined,
): Promise<RunFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-"));
  const herald = await startHerald({
    dataDir,
    token: `bench_${randomBytes(12).toString("hex")}`,
    execArgv: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    return await measure(p, s, run, herald, log);
  } finally {
    await herald.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(
  p: Processes,
  s: Settings,
  run: number,
  herald: HeraldChild,
  log: (line: string) => void,
): Promise<RunFigures> {
  const sinkUrl = `http://127.0.0.1:${p.sink.port}`;
  const ceilingUrl = `http://127.0.0.1:${p.ceiling.port}`;
  const relayUrl = `http://127.0.0.1:${p.relay.port}`;
  const auth = { Authorization: `Bearer ${herald.token}`, "Content-Type": "application/json" };
  const publishTo = (base: string, path: string): Target => ({
    url: `${base}/v2/publish/${sinkUrl}/${path}`,
    headers: auth,
    body: BODY,
  });
  const batchTo = (base: string): Target => ({
    url: `${base}/v2/batch`,
    headers: auth,
    body: JSON.stringify(
      Array.from({ length: s.batchSize }, (_, i) => ({
        destination: `${sinkUrl}/batch/${i}`,
        headers: { "Content-Type": "application/json" },
        body: BODY,
      })),
    ),
  });
  let errors = 0;
  const count = (r: { failed: number; statuses: Record<string, number> }, what: string): void => {
    if (r.failed > 0) log(`  ${what}: ${r.failed} failed requests ${JSON.stringify(r.statuses)}`);
    errors += r.failed;
  };
  /** Waits until the sink has seen `n` deliveries since its last reset, then resets it. */
  const drain = async (n: number, what: string): Promise<{ count: number; firstAt: number; lastAt: number }> => {
    const seen = await p.sink.call<{ count: number; firstAt: number; lastAt: number }>({
      type: "expect",
      count: n,
      timeoutMs: 120_000,
    });
    if (seen.count < n) {
      log(`  ${what}: only ${seen.count} of ${n} deliveries arrived`);
      errors += n - seen.count;
    }
    await p.sink.call({ type: "reset" });
    return seen;
  };
  const closed = (target: Target, extra: Record<string, unknown>): Promise<ClosedResult> =>
    p.client.call<ClosedResult>({ type: "closed", target, connections: s.connections, ...extra });
  // Alternate which side goes first, so neither always runs on a cooler (or warmer) machine.
  const heraldFirst = run % 2 === 1;
  const pair = async <T>(ceiling: () => Promise<T>, ours: () => Promise<T>): Promise<[T, T]> => {
    if (heraldFirst) {
      const h = await ours();
      return [await ceiling(), h];
    }
    const c = await ceiling();
    return [c, await ours()];
  };

  await p.sink.call({ type: "reset" });

  // 1. Publish throughput, closed loop. Deliveries are deferred (`Upstash-Delay: 1h`, past the end of the
  // run), so the figure is what the API accepts, beside a server that only answers: the same work as any
  // publish (parse, store the message, its log event and its job) without the delivery competing for the
  // CPU. Then the same with immediate delivery going on meanwhile (its backlog drained after).
  const deferred = publishTo(herald.url, "deferred");
  deferred.headers = { ...deferred.headers, "Upstash-Delay": "1h" };
  const [[pubCeiling, ceilingCpu], [pubHerald, heraldCpu]] = await pair(
    () =>
      withCpu(p.ceiling.pid, () =>
        closed(publishTo(ceilingUrl, "publish"), { durationMs: s.publishMs, warmupMs: s.warmupMs }),
      ),
    async () => {
      const warm = await closed(deferred, { durationMs: s.warmupMs });
      count(warm, "publish warm-up");
      return withCpu(herald.pid, () => closed(deferred, { durationMs: s.publishMs }));
    },
  );
  count(pubCeiling, "publish ceiling");
  count(pubHerald, "publish");
  const pubLive = await closed(publishTo(herald.url, "publish"), { durationMs: s.publishMs });
  count(pubLive, "publish with delivery");
  await drain(pubLive.ok, "publish with delivery");
  log(
    `  publish: Herald ${pubHerald.rps.toFixed(0)} req/s (${pubLive.rps.toFixed(0)} with delivery), ` +
      `ceiling ${pubCeiling.rps.toFixed(0)} req/s`,
  );

  // 2. Latency at a fixed offered load (open loop): with immediate delivery (Herald delivers as much
  // meanwhile), and with deliveries deferred (the API path alone, as the ceiling).
  const open = (target: Target): Promise<OpenResult> =>
    p.client.call<OpenResult>({
      type: "open",
      target,
      rate: s.latencyRate,
      durationMs: s.latencyMs,
      warmupMs: 1000,
      maxSockets: 256,
    });
  const [latCeiling, latHerald] = await pair(
    () => open(publishTo(ceilingUrl, "latency")),
    async () => {
      const r = await open(publishTo(herald.url, "latency"));
      await drain(r.ok + s.latencyRate, "latency"); // the warm-up second published latencyRate more
      return r;
    },
  );
  const latDeferred = await open({ ...deferred, url: deferred.url.replace("/deferred", "/latency-deferred") });
  count(latCeiling, "latency ceiling");
  count(latHerald, "latency");
  count(latDeferred, "latency, deliveries deferred");
  log(
    `  at ${s.latencyRate} req/s: Herald p50 ${latHerald.latency.p50.toFixed(2)} ms p99 ${latHerald.latency.p99.toFixed(2)} ms` +
      ` (client send lag p99 ${latHerald.sendLag.p99.toFixed(2)} ms), deliveries deferred p99 ` +
      `${latDeferred.latency.p99.toFixed(2)} ms; ceiling p50 ${latCeiling.latency.p50.toFixed(2)} ms` +
      ` p99 ${latCeiling.latency.p99.toFixed(2)} ms`,
  );

  // 3. End to end, single publishes: from the first publish sent to the last delivery at the sink.
  const endToEnd = async (server: number, target: Target, messages: number, requests: number, connections: number) => {
    const cpu0 = cpuMs(server);
    const r = await p.client.call<ClosedResult>({ type: "closed", target, connections, count: requests });
    count(r, "end to end");
    const seen = await drain(messages, "end to end");
    return {
      mps: (seen.count * 1000) / (seen.lastAt - r.startedAt),
      cpuUs: ((cpuMs(server) - cpu0) * 1000) / seen.count,
    };
  };
  const relayWarm = await closed(publishTo(relayUrl, "warm"), { count: 1000 });
  await drain(relayWarm.ok, "relay warm-up");
  const [e2eRelay, e2eHerald] = await pair(
    () => endToEnd(p.relay.pid, publishTo(relayUrl, "e2e"), s.e2eMessages, s.e2eMessages, s.connections),
    () => endToEnd(herald.pid, publishTo(herald.url, "e2e"), s.e2eMessages, s.e2eMessages, s.connections),
  );
  log(`  end to end: Herald ${e2eHerald.mps.toFixed(0)} msg/s, relay ${e2eRelay.mps.toFixed(0)} msg/s`);

  // 4. End to end, batch publishes of batchSize entries each.
  const messages = s.batches * s.batchSize;
  const [batchRelay, batchHerald] = await pair(
    () => endToEnd(p.relay.pid, batchTo(relayUrl), messages, s.batches, s.batchConnections),
    () => endToEnd(herald.pid, batchTo(herald.url), messages, s.batches, s.batchConnections),
  );
  log(`  batch end to end: Herald ${batchHerald.mps.toFixed(0)} msg/s, relay ${batchRelay.mps.toFixed(0)} msg/s`);

  // 5. Delay precision: lateness = arrival at the sink - (publish sent + delay).
  const delay = await p.client.call<DelayResult>({
    type: "delay",
    target: publishTo(herald.url, "delay"),
    count: s.delayMessages,
    spanMs: s.delaySpanMs,
    minDelaySec: s.delayMinSec,
    maxDelaySec: s.delayMaxSec,
  });
  count(delay, "delay");
  const seen = await p.sink.call<{ count: number }>({
    type: "expect",
    count: delay.ok,
    timeoutMs: s.delayMaxSec * 1000 + 30_000,
  });
  if (seen.count < delay.ok) errors += delay.ok - seen.count;
  const { lateness } = await p.sink.call<{ lateness: number[] }>({ type: "lateness" });
  await p.sink.call({ type: "reset" });
  const late = summarize(lateness);
  log(`  delay lateness: p50 ${late.p50.toFixed(1)} ms, p99 ${late.p99.toFixed(1)} ms, max ${late.max.toFixed(1)} ms`);

  return {
    publish_rps: pubHerald.rps,
    publish_ceiling_rps: pubCeiling.rps,
    publish_ratio: pubHerald.rps / pubCeiling.rps,
    publish_with_delivery_rps: pubLive.rps,
    publish_cpu_us: (heraldCpu * 1000) / pubHerald.ok,
    publish_ceiling_cpu_us: (ceilingCpu * 1000) / pubCeiling.ok,
    publish_p50_ms_at_1000: latHerald.latency.p50,
    publish_p99_ms_at_1000: latHerald.latency.p99,
    publish_deferred_p50_ms_at_1000: latDeferred.latency.p50,
    publish_deferred_p99_ms_at_1000: latDeferred.latency.p99,
    publish_ceiling_p50_ms_at_1000: latCeiling.latency.p50,
    publish_ceiling_p99_ms_at_1000: latCeiling.latency.p99,
    e2e_mps: e2eHerald.mps,
    e2e_relay_mps: e2eRelay.mps,
    e2e_ratio: e2eHerald.mps / e2eRelay.mps,
    e2e_cpu_us: e2eHerald.cpuUs,
    e2e_relay_cpu_us: e2eRelay.cpuUs,
    e2e_batch_mps: batchHerald.mps,
    e2e_batch_relay_mps: batchRelay.mps,
    e2e_batch_ratio: batchHerald.mps / batchRelay.mps,
    delay_lateness_p50_ms: late.p50,
    delay_lateness_p99_ms: late.p99,
    delay_lateness_max_ms: late.max,
    errors,
  };
}

/** Runs `work`, returning its result and the CPU time (ms) process `pid` used meanwhile. */
async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<[T, number]> {
  const before = cpuMs(pid);
  const result = await work();
  return [result, cpuMs(pid) - before];
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const profileDir = args.includes("--profile") ? mkdtempSync(join(tmpdir(), "herald-prof-")) : undefined;
  const result = await runLocalBench({ quick, log: (line) => console.error(line), profileDir });
  console.log(formatLocalTable(result));
  console.log(JSON.stringify(result, null, 2));
  if (profileDir) console.error(`Herald CPU profiles in ${profileDir}`);
}
