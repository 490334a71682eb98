// The load client, in its own process: node:http with a keep-alive Agent. The same client drives Herald and
// the ceilings. Commands (IPC):
//   closed — N connections, each sending its next request when the previous answered, for a duration or a
//            total count (throughput, and end-to-end publishing);
//   open   — a fixed offered rate on a schedule, latency measured from each request's *scheduled* send time
//            to the end of its response, so queueing anywhere (client pool, server) is never hidden
//            (no coordinated omission);
//   delay  — publishes spread over a span, each with a random `Upstash-Delay` and its due time forwarded to
//            the sink (`Upstash-Forward-Bench-Due`).
import http from "node:http";
import { serveCommands } from "./processes.ts";
import { now, summarize, type Summary } from "./stats.ts";

export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ClosedResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  startedAt: number;
  lastDoneAt: number;
  rps: number;
  latency: Summary;
}

export interface OpenResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** Responses per second over the window from the first scheduled send to the last response. */
  achievedRps: number;
  /** Scheduled send time to end of response. */
  latency: Summary;
  /** How late the client itself issued requests behind their schedule (its own health). */
  sendLag: Summary;
}

export interface DelayResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
}

interface Prepared {
  options: http.RequestOptions;
  body: Buffer;
}

function prepare(target: Target, agent: http.Agent): Prepared {
  const url = new URL(target.url);
  const body = Buffer.from(target.body);
  return {
    body,
    options: {
      host: url.hostname,
      port: url.port,
      // The path exactly as given (Herald's publish path holds a raw URL: http://… with its slashes).
      path: target.url.slice(target.url.indexOf("/", url.protocol.length + 2)),
      method: "POST",
      agent,
      headers: { ...target.headers, "Content-Length": String(body.length) },
    },
  };
}

/** One request; resolves with the status (0 when it failed without a response). */
function send(prepared: Prepared, extraHeaders?: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const options = extraHeaders
      ? { ...prepared.options, headers: { ...prepared.options.headers, ...extraHeaders } }
      : prepared.options;
    const req = http.request(options);
    req.on("error", () => resolve(0));
    req.on("response", (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.end(prepared.body);
  });
}

class Tally {
  ok = 0;
  failed = 0;
  statuses: Record<string, number> = {};
  add(status: number): boolean {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    const good = status >= 200 && status < 300;
    if (good) this.ok++;
    else this.failed++;
    return good;
  }
}

async function closedLoop(command: {
  target: Target;
  connections: number;
  durationMs?: number;
  count?: number;
  warmupMs?: number;
}): Promise<ClosedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: command.connections });
  const prepared = prepare(command.target, agent);
  try {
    if (command.warmupMs) {
      const until = now() + command.warmupMs;
      await Promise.all(
        Array.from({ length: command.connections }, async () => {
          while (now() < until) await send(prepared);
        }),
      );
    }
    const tally = new Tally();
    const latencies: number[] = [];
    const startedAt = now();
    const deadline = command.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + command.durationMs;
    let remaining = command.count ?? Number.POSITIVE_INFINITY;
    let lastDoneAt = startedAt;
    await Promise.all(
      Array.from({ length: command.connections }, async () => {
        while (remaining > 0 && now() < deadline) {
          remaining--;
          const t0 = now();
          const status = await send(prepared);
          lastDoneAt = now();
          if (tally.add(status)) latencies.push(lastDoneAt - t0);
        }
      }),
    );
    return {
      ok: tally.ok,
      failed: tally.failed,
      statuses: tally.statuses,
      startedAt,
      lastDoneAt,
      rps: (tally.ok * 1000) / (lastDoneAt - startedAt),
      latency: summarize(latencies),
    };
  } finally {
    agent.destroy();
  }
}

/**
 * Calls `issue(i, scheduledAt)` for i = 0..total-1 at startAt + i * intervalMs, checking the schedule every
 * millisecond or so; resolves when all were issued.
 */
function onSchedule(
  total: number,
  intervalMs: number,
  startAt: number,
  issue: (i: number, scheduledAt: number) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const tick = (): void => {
      const t = now();
      while (i < total && startAt + i * intervalMs <= t) {
        issue(i, startAt + i * intervalMs);
        i++;
      }
      if (i >= total) return resolve();
      setTimeout(tick, Math.max(0, startAt + i * intervalMs - now() - 0.5));
    };
    setTimeout(tick, Math.max(0, startAt - now()));
  });
}

async function openLoop(command: {
  target: Target;
  rate: number;
  durationMs: number;
  warmupMs?: number;
  maxSockets: number;
}): Promise<OpenResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: command.maxSockets });
  const prepared = prepare(command.target, agent);
  const interval = 1000 / command.rate;
  try {
    if (command.warmupMs) {
      const pending: Promise<number>[] = [];
      const total = Math.round((command.warmupMs * command.rate) / 1000);
      await onSchedule(total, interval, now() + 5, () => pending.push(send(prepared)));
      await Promise.all(pending);
    }
    const tally = new Tally();
    const latencies: number[] = [];
    const lags: number[] = [];
    const pending: Promise<void>[] = [];
    const total = Math.round((command.durationMs * command.rate) / 1000);
    const startAt = now() + 5;
    let lastDoneAt = startAt;
    await onSchedule(total, interval, startAt, (_i, scheduledAt) => {
      lags.push(now() - scheduledAt);
      pending.push(
        send(prepared).then((status) => {
          lastDoneAt = now();
          if (tally.add(status)) latencies.push(lastDoneAt - scheduledAt);
        }),
      );
    });
    await Promise.all(pending);
    return {
      ok: tally.ok,
      failed: tally.failed,
      statuses: tally.statuses,
      achievedRps: (tally.ok * 1000) / (lastDoneAt - startAt),
      latency: summarize(latencies),
      sendLag: summarize(lags),
    };
  } finally {
    agent.destroy();
  }
}

async function delayed(command: {
  target: Target;
  count: number;
  spanMs: number;
  minDelaySec: number;
  maxDelaySec: number;
}): Promise<DelayResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const prepared = prepare(command.target, agent);
  const tally = new Tally();
  const pending: Promise<void>[] = [];
  try {
    await onSchedule(command.count, command.spanMs / command.count, now() + 5, () => {
      const delaySec =
        command.minDelaySec + Math.floor(Math.random() * (command.maxDelaySec - command.minDelaySec + 1));
      // The due time counts from the moment the request is sent: Herald's own clock reads it a little
      // later, so the lateness measured here includes the publish request's own latency (conservative).
      const sentAt = now();
      const headers = {
        "Upstash-Delay": `${delaySec}s`,
        "Upstash-Forward-Bench-Due": String(sentAt + delaySec * 1000),
      };
      pending.push(send(prepared, headers).then((status) => void tally.add(status)));
    });
    await Promise.all(pending);
    return { ok: tally.ok, failed: tally.failed, statuses: tally.statuses };
  } finally {
    agent.destroy();
  }
}

serveCommands(0, async (command) => {
  switch (command.type) {
    case "closed":
      return closedLoop(command as unknown as Parameters<typeof closedLoop>[0]);
    case "open":
      return openLoop(command as unknown as Parameters<typeof openLoop>[0]);
    case "delay":
      return delayed(command as unknown as Parameters<typeof delayed>[0]);
    default:
      throw new Error(`unknown command ${String(command.type)}`);
  }
});
