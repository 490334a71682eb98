// Crash-test helpers: a seeded random source (the seed is printed, so a failing run can be replayed with
// CRASH_SEED), a publish load that a kill interrupts, and a tally of what the sink received per message.
import { Client } from "@upstash/qstash";
import { expect } from "vitest";
import { eventually } from "./herald.ts";
import type { HeraldProcess } from "./process.ts";
import type { ReceivedRequest, Sink } from "./sink.ts";

export interface Random {
  seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
}

/** mulberry32: small, fast and good enough to pick kill moments reproducibly. */
export function seededRandom(label: string): Random {
  const fromEnv = Number(process.env.CRASH_SEED);
  const seed = Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
  console.log(`[${label}] CRASH_SEED=${seed}`);
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

export interface LoadResult {
  /** Publishes sent (each either got an answer or failed). */
  sent: number;
  /** Message ids that came back with a 2xx. */
  accepted: string[];
  /** Those of them published with a delay. */
  delayed: Set<string>;
  /** Publishes that got no 2xx (the kill cut them off, or refused connections after it). */
  failed: number;
  /** How many 2xx answers had arrived when the kill was sent. */
  killedAfter: number;
}

/**
 * Publishes `total` messages to `url` with `concurrency` publishers (the official SDK, no retries): about
 * half immediate, half delayed 1-3 s. Once `killAfter` of them got a 2xx, `kill` is called (not awaited by
 * the publishers) and the publishers stop sending; the ones in flight then resolve or fail on their own.
 */
export async function publishUntilKilled(options: {
  baseUrl: string;
  token: string;
  url: string;
  total: number;
  concurrency: number;
  killAfter: number;
  random: Random;
  kill: () => Promise<void>;
}): Promise<LoadResult> {
  const client = new Client({ baseUrl: options.baseUrl, token: options.token, retry: false });
  const result: LoadResult = { sent: 0, accepted: [], delayed: new Set(), failed: 0, killedAfter: -1 };
  let killing: Promise<void> | undefined;
  const publisher = async (): Promise<void> => {
    while (!killing && result.sent < options.total) {
      const n = result.sent++;
      const delay = options.random.next() < 0.5 ? 0 : options.random.int(1, 3);
      try {
        const { messageId } = await client.publish({
          url: options.url,
          body: `message ${n}`,
          ...(delay > 0 ? { delay } : {}),
        });
        result.accepted.push(messageId);
        if (delay > 0) result.delayed.add(messageId);
        if (!killing && result.accepted.length >= options.killAfter) {
          result.killedAfter = result.accepted.length;
          killing = options.kill();
        }
      } catch {
        result.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, publisher));
  if (!killing) {
    result.killedAfter = result.accepted.length;
    killing = options.kill();
  }
  await killing;
  return result;
}

export interface Tally {
  /** Deliveries per message id (every request that reached the sink). */
  counts: Map<string, number>;
  /** Accepted ids the sink has not seen. */
  missing: string[];
  /** Requests beyond the first for a message. */
  duplicates: number;
  /** Ids the sink saw that never got a 2xx (their publish was cut off after it was stored). */
  unacknowledged: number;
}

export function tally(requests: ReceivedRequest[], accepted: readonly string[]): Tally {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const id = r.headers["upstash-message-id"] as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const known = new Set(accepted);
  let duplicates = 0;
  for (const n of counts.values()) duplicates += n - 1;
  return {
    counts,
    missing: accepted.filter((id) => !counts.has(id)),
    duplicates,
    unacknowledged: [...counts.keys()].filter((id) => !known.has(id)).length,
  };
}

/** Waits until the sink has seen every accepted id at `path` (or the time is up), and tallies. */
export async function waitForAll(
  sink: Sink,
  path: string,
  accepted: readonly string[],
  timeoutMs: number,
): Promise<Tally> {
  const complete = (): true | undefined => (tally(sink.at(path), accepted).missing.length === 0 ? true : undefined);
  await eventually(complete, timeoutMs).catch(() => undefined);
  return tally(sink.at(path), accepted);
}

/**
 * The SIGKILL-under-load scenario both modes run: `rounds` times, publish `total` messages to
 * `<sink>/<pathPrefix>/<round>` and SIGKILL the server after a random number of 2xx answers, then start it
 * again on the same data directory (each round's load runs while the previous round's messages are still
 * being recovered). Afterwards every message that got a 2xx must have reached the sink; duplicates are
 * logged, not failed. Returns the server left running.
 */
export async function killUnderLoad(options: {
  label: string;
  rounds: number;
  total: number;
  concurrency: number;
  pathPrefix: string;
  token: string;
  sink: Sink;
  random: Random;
  start: () => Promise<HeraldProcess>;
}): Promise<void> {
  const { label, total, random, sink } = options;
  let herald = await options.start();
  const rounds: { path: string; load: LoadResult }[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const path = `${options.pathPrefix}/${round}`;
      const victim = herald;
      const load = await publishUntilKilled({
        baseUrl: victim.url,
        token: options.token,
        url: `${sink.url}${path}`,
        total,
        concurrency: options.concurrency,
        killAfter: random.int(Math.round(total * 0.15), Math.round(total * 0.85)),
        random,
        kill: () => victim.kill("SIGKILL"),
      });
      console.log(
        `[${label}] round ${round}: SIGKILL after ${load.killedAfter} 2xx; sent ${load.sent}, ` +
          `2xx ${load.accepted.length} (${load.delayed.size} delayed), failed ${load.failed}`,
      );
      rounds.push({ path, load });
      herald = await options.start();
    }
    for (const [i, { path, load }] of rounds.entries()) {
      const result = await waitForAll(sink, path, load.accepted, 30_000);
      console.log(
        `[${label}] round ${i + 1}: delivered ${load.accepted.length - result.missing.length}/` +
          `${load.accepted.length} accepted, ${result.duplicates} duplicate deliveries, ` +
          `${result.unacknowledged} delivered without a 2xx`,
      );
      expect(result.missing).toEqual([]);
      expect(load.accepted.length).toBeGreaterThan(0);
    }
  } finally {
    await herald.kill("SIGTERM");
  }
}
