// Crash safety of `npm start` (issue 6): the server is SIGKILLed at random moments — mid-publish under
// load, during a retry's backoff, in the middle of a queue's FIFO run — and restarted on the same data
// directory. Every message that got a 2xx must reach the destination; duplicates are allowed and counted.
import { Client } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killUnderLoad, seededRandom } from "../support/crash.ts";
import { eventually, sleep, tempDir } from "../support/herald.ts";
import { spawnHerald, type HeraldProcess } from "../support/process.ts";
import { Sink, type ReceivedRequest } from "../support/sink.ts";

const TOKEN = "crash-local-token";
const ENTRY = "bin/herald-local.ts";
let sink: Sink;
/** The status the sink answered each request with. */
const answered = new WeakMap<ReceivedRequest, number>();
let answer: (request: ReceivedRequest, count: number) => { status: number; delayMs?: number } = () => ({
  status: 200,
});

beforeAll(async () => {
  sink = await Sink.start();
  sink.reply = (request, count) => {
    const reply = answer(request, count);
    answered.set(request, reply.status);
    return reply;
  };
});
afterAll(async () => {
  await sink.close();
});

const start = (dataDir: string): Promise<HeraldProcess> =>
  spawnHerald(process.execPath, [ENTRY], { PORT: "0", HERALD_DATA_DIR: dataDir, HERALD_TOKEN: TOKEN });

const idOf = (r: ReceivedRequest): string => r.headers["upstash-message-id"] as string;
const retriedOf = (r: ReceivedRequest): number => Number(r.headers["upstash-retried"]);

describe("SIGKILL under load [local]", () => {
  it("delivers every message that got a 2xx, across three kills at random moments", async () => {
    const dataDir = tempDir();
    await killUnderLoad({
      label: "local load",
      rounds: 3,
      total: 400,
      concurrency: 16,
      pathPrefix: "/load",
      token: TOKEN,
      sink,
      random: seededRandom("local load"),
      start: () => start(dataDir),
    });
  }, 120_000);
});

describe("SIGKILL during a retry's backoff [local]", () => {
  it("keeps the retry and its count: the next attempt comes after restart with the next Upstash-Retried", async () => {
    const random = seededRandom("local backoff");
    answer = (request, count) => {
      if (request.path === "/backoff/always") return { status: 500 };
      if (request.path === "/backoff/once" || request.path === "/backoff/witness")
        return { status: count === 1 ? 500 : 200 };
      return { status: 200 };
    };
    const dataDir = tempDir();
    let herald = await start(dataDir);
    try {
      let client = new Client({ baseUrl: herald.url, token: TOKEN, retry: false });
      // 2.5 s between attempts: the kill (at most 0.8 s after the RETRY is visible) lands inside the wait.
      const always = await client.publish({
        url: `${sink.url}/backoff/always`,
        body: "a",
        retries: 2,
        retryDelay: "2500",
      });
      const once = await client.publish({ url: `${sink.url}/backoff/once`, body: "b", retries: 3, retryDelay: "2500" });
      const retryLogged = (id: string, retried: number) =>
        eventually(async () => {
          const { logs } = await client.logs({ filter: { messageId: id, state: "RETRY" } });
          return logs.length >= retried ? true : undefined;
        }, 15_000);

      const killInBackoff = async (label: string): Promise<number> => {
        const wait = random.int(0, 800);
        await sleep(wait);
        await herald.kill("SIGKILL");
        const killedAt = Date.now();
        console.log(`[local backoff] ${label}: SIGKILL ${wait} ms after the RETRY was logged`);
        herald = await start(dataDir);
        client = new Client({ baseUrl: herald.url, token: TOKEN, retry: false });
        return killedAt;
      };

      await Promise.all([retryLogged(always.messageId, 1), retryLogged(once.messageId, 1)]);
      const firstKill = await killInBackoff("first backoff");
      const [, onceRetry] = await sink.waitFor("/backoff/once", 2, 15_000);
      expect(onceRetry?.at).toBeGreaterThan(firstKill);
      expect(idOf(onceRetry as ReceivedRequest)).toBe(once.messageId);
      expect(retriedOf(onceRetry as ReceivedRequest)).toBe(1);

      await sink.waitFor("/backoff/always", 2, 15_000);
      await retryLogged(always.messageId, 2);
      const secondKill = await killInBackoff("second backoff");
      const attempts = await sink.waitFor("/backoff/always", 3, 15_000);
      expect(attempts[2]?.at).toBeGreaterThan(secondKill);

      // The last attempt failed: FAILED with its DLQ entry, and no attempt beyond Upstash-Retried 2.
      await eventually(async () => {
        const { logs } = await client.logs({ filter: { messageId: always.messageId, state: "FAILED" } });
        return logs.length > 0 ? true : undefined;
      }, 15_000);
      const { messages } = await client.dlq.listMessages();
      expect(messages.map((m) => m.messageId)).toContain(always.messageId);
      await eventually(async () => {
        const { logs } = await client.logs({ filter: { messageId: once.messageId, state: "DELIVERED" } });
        return logs.length > 0 ? true : undefined;
      }, 15_000);
      // A retry count reset by the crash would show another attempt one backoff after the last one. A witness
      // published now, with the same backoff, is retried only after that backoff passed.
      await client.publish({ url: `${sink.url}/backoff/witness`, body: "w", retries: 1, retryDelay: "2500" });
      await sink.waitFor("/backoff/witness", 2, 15_000);
      const always3 = sink.at("/backoff/always");
      expect(always3.map(idOf).every((id) => id === always.messageId)).toBe(true);
      expect(always3.map(retriedOf)).toEqual([0, 1, 2]);
      expect(sink.at("/backoff/once").map(retriedOf)).toEqual([0, 1]);
    } finally {
      await herald.kill("SIGTERM");
    }
  }, 90_000);
});

describe("SIGKILL during a queue's FIFO run [local]", () => {
  it("delivers all 20 in enqueue order: every request for message n comes before the first for n + 1", async () => {
    const random = seededRandom("local fifo");
    answer = (request) => {
      if (!request.path.startsWith("/fifo/")) return { status: 200 };
      const n = Number(request.path.slice("/fifo/".length));
      // Message 7 fails its first attempt (every time it is made: a kill can cut one off before Herald
      // records it, and the restart makes it again): its retry must also come before message 8.
      if (n === 7 && retriedOf(request) === 0) return { status: 500, delayMs: 150 };
      return { status: 200, delayMs: 150 };
    };
    const dataDir = tempDir();
    let herald = await start(dataDir);
    try {
      const client = new Client({ baseUrl: herald.url, token: TOKEN, retry: false });
      const queue = client.queue({ queueName: "crash-fifo" });
      await queue.upsert({ parallelism: 1 });
      for (let n = 0; n < 20; n++) {
        await queue.enqueue({ url: `${sink.url}/fifo/${n}`, body: String(n), retries: 3, retryDelay: "500" });
      }
      const fifo = (): ReceivedRequest[] => sink.received.filter((r) => r.path.startsWith("/fifo/"));
      const k1 = random.int(2, 9);
      const k2 = random.int(k1 + 3, 17);
      for (const k of [k1, k2]) {
        await eventually(() => (fifo().length >= k ? true : undefined), 30_000);
        const jitter = random.int(0, 200);
        await sleep(jitter);
        await herald.kill("SIGKILL");
        console.log(`[local fifo] SIGKILL ${jitter} ms after request ${k} reached the sink`);
        herald = await start(dataDir);
      }
      const numberOf = (r: ReceivedRequest): number => Number(r.path.slice("/fifo/".length));
      await eventually(() => {
        const ok = new Set(
          fifo()
            .filter((r) => answered.get(r) === 200)
            .map(numberOf),
        );
        return ok.size === 20 ? true : undefined;
      }, 45_000);
      const requests = fifo();
      const sequence = requests.map(numberOf);
      const firsts = [...new Set(sequence)];
      expect(firsts).toEqual(Array.from({ length: 20 }, (_, n) => n));
      for (let n = 0; n < 19; n++) {
        expect(sequence.lastIndexOf(n)).toBeLessThan(sequence.indexOf(n + 1));
      }
      const seven = requests.filter((r) => numberOf(r) === 7);
      expect(seven.some((r) => retriedOf(r) === 1 && answered.get(r) === 200)).toBe(true);
      console.log(`[local fifo] ${requests.length} requests for 20 messages (${requests.length - 21} duplicates)`);
      const after = new Client({ baseUrl: herald.url, token: TOKEN, retry: false }).queue({ queueName: "crash-fifo" });
      await eventually(async () => ((await after.get()).lag === 0 ? true : undefined), 10_000);
    } finally {
      await herald.kill("SIGTERM");
    }
  }, 120_000);
});
