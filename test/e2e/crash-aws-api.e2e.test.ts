// Crash safety of the API Lambda on emulated AWS (issue 6): the handler dies between its AWS writes —
// after each one in turn — and the client, which got no answer, publishes again. Every message that got a
// 2xx must be delivered; nothing may be left half done in a way that loses one (test/support/aws-faults.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultyAws, type FaultyAws } from "../support/aws-faults.ts";
import { eventually, sleep } from "../support/herald.ts";
import { Sink } from "../support/sink.ts";

let aws: FaultyAws;
const sink = Sink.forSuite();

beforeAll(async () => {
  aws = await startFaultyAws({ token: "crash-aws-api" });
}, 60_000);
afterAll(async () => {
  await aws.close();
});

interface Attempt {
  status?: number;
  error?: string;
}

/**
 * Publishes like a client with retries: a 5xx or no answer is tried again (a retry may wait for a dead
 * publish's deduplication claim: up to ~32 s).
 */
async function publishWithRetry(
  path: string,
  headers: Record<string, string>,
  body: string,
  /** Called once the first attempt is answered (or failed). */
  afterFirst: () => void = () => undefined,
): Promise<{ attempts: Attempt[]; ids: string[] }> {
  const attempts: Attempt[] = [];
  for (let i = 0; i < 4; i++) {
    if (i === 1) afterFirst();
    try {
      const res = await fetch(`${aws.herald.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${aws.herald.token}`, ...headers },
        body,
        signal: AbortSignal.timeout(45_000),
      });
      attempts.push({ status: res.status });
      if (res.status < 300) {
        const answer = (await res.json()) as { messageId: string } | { messageId: string }[];
        return { attempts, ids: [answer].flat().map((a) => a.messageId) };
      }
      await res.body?.cancel();
    } catch (error) {
      attempts.push({ error: (error as Error).name });
    }
  }
  afterFirst();
  return { attempts, ids: [] };
}

const deliveredIds = (prefix: string): Set<string> =>
  new Set(sink.received.filter((r) => r.path.startsWith(prefix)).map((r) => r.headers["upstash-message-id"] as string));

/** The ids not delivered at `prefix` once all are, or the time is up. */
async function waitDelivered(prefix: string, ids: string[], timeoutMs: number): Promise<string[]> {
  const missing = (): string[] => ids.filter((id) => !deliveredIds(prefix).has(id));
  await eventually(() => (missing().length === 0 ? true : undefined), timeoutMs).catch(() => undefined);
  return missing();
}

interface Kind {
  name: string;
  /** The publish for cut `cut`; `marker` names it in the AWS requests it makes first. */
  publish(cut: number): { marker: string; path: string; headers: Record<string, string>; prefix: string };
  setup?(cut: number): Promise<void>;
}

const KINDS: Kind[] = [
  {
    name: "immediate",
    publish: (cut) => ({
      marker: `cut-immediate-${cut}`,
      path: `/v2/publish/${sink.url}/api-death/cut-immediate-${cut}`,
      headers: {},
      prefix: `/api-death/cut-immediate-${cut}`,
    }),
  },
  {
    name: "delayed",
    publish: (cut) => ({
      marker: `cut-delayed-${cut}`,
      path: `/v2/publish/${sink.url}/api-death/cut-delayed-${cut}`,
      headers: { "Upstash-Delay": "1s" },
      prefix: `/api-death/cut-delayed-${cut}`,
    }),
  },
  {
    name: "URL group",
    setup: async (cut) => {
      const endpoints = [0, 1].map((i) => ({ url: `${sink.url}/api-death/cut-group-${cut}/${i}` }));
      const res = await fetch(`${aws.herald.url}/v2/topics/cut-group-${cut}/endpoints`, {
        method: "POST",
        headers: { Authorization: `Bearer ${aws.herald.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ endpoints }),
      });
      expect(res.status).toBeLessThan(300);
    },
    publish: (cut) => ({
      marker: `cut-group-${cut}`,
      path: `/v2/publish/cut-group-${cut}`,
      headers: {},
      prefix: `/api-death/cut-group-${cut}/`,
    }),
  },
];

describe("the API handler dies between its writes [aws-local]", () => {
  it("a client that publishes again gets every message delivered, whatever write the handler died after", async () => {
    const sweep = async (kind: Kind): Promise<string[]> => {
      const lines: string[] = [];
      for (let cut = 0; cut < 12; cut++) {
        await kind.setup?.(cut);
        const { marker, path, headers, prefix } = kind.publish(cut);
        const died = aws.killApiAfter(marker, cut);
        const { attempts, ids } = await publishWithRetry(path, headers, `${kind.name} ${cut}`);
        aws.disarm(marker);
        expect(ids.length, `${kind.name}, cut after ${cut}: ${JSON.stringify(attempts)}`).toBeGreaterThan(0);
        const missing = await waitDelivered(prefix, ids, 20_000);
        expect(missing, `${kind.name}, cut after ${cut} request(s)`).toEqual([]);
        if (attempts.length === 1) break; // the publish made fewer requests than `cut`: every cut was tried
        const before = await Promise.race([died, sleep(0).then(() => ["(another invocation's death)"])]);
        lines.push(
          `${kind.name}: died after [${before.join(", ")}], retried: ${ids.length} delivered, ` +
            `${deliveredIds(prefix).size - ids.length} delivered without a 2xx`,
        );
      }
      return lines;
    };
    const reports = await Promise.all(KINDS.map(sweep));
    console.log(reports.flat().join("\n"));
    // Each kind died at least before its first write and after it: a kind never cut would test nothing.
    for (const [i, lines] of reports.entries()) {
      expect(lines.length, KINDS[i]?.name).toBeGreaterThanOrEqual(2);
    }
  }, 90_000);
});

describe("a deduplicated publish whose API handler died between its writes [aws-local]", () => {
  it("is delivered once the client publishes again with the same deduplication id, whatever write it died after", async () => {
    const cases = [false, true].flatMap((delayed) =>
      Array.from({ length: 6 }, (_, cut) => ({ delayed, cut, dedupId: `dedup-${delayed ? "delayed" : "now"}-${cut}` })),
    );
    // One death at a time: the Lambdas share one process here, and SqsDispatcher batches the sends of one
    // event-loop turn in the first sender's context, so a publish beside a dying one could fail with it.
    // Each publish starts once the previous one's first attempt (the one that dies) is answered; the
    // retries, which may wait for the dead publish's deduplication claim, and the deliveries overlap.
    let previous: Promise<void> = Promise.resolve();
    const lines = await Promise.all(
      cases.map(async ({ delayed, cut, dedupId }) => {
        const turn = previous;
        let answered = (): void => undefined;
        previous = new Promise((resolve) => (answered = resolve));
        await turn;
        const prefix = `/api-death/${dedupId}`;
        const died = aws.killApiAfter(dedupId, cut);
        const headers: Record<string, string> = { "Upstash-Deduplication-Id": dedupId };
        if (delayed) headers["Upstash-Delay"] = "1s";
        const path = `/v2/publish/${sink.url}${prefix}`;
        const { attempts, ids } = await publishWithRetry(path, headers, dedupId, answered).finally(answered);
        aws.disarm(dedupId);
        expect(ids, `${dedupId}: ${JSON.stringify(attempts)}`).toHaveLength(1);
        const missing = await waitDelivered(prefix, ids, 20_000);
        const before = await Promise.race([died, sleep(0).then(() => undefined)]);
        expect(missing, `${dedupId}, died after [${before?.join(", ") ?? "nothing: it finished"}]`).toEqual([]);
        return `${dedupId}: ${before ? `died after [${before.join(", ")}]` : "did not die"}, answers ${attempts.map((a) => a.status ?? a.error).join(" ")}, delivered ${sink.at(prefix).length}x`;
      }),
    );
    console.log(lines.join("\n"));
  }, 90_000);
});
