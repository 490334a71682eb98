// The delivery Lambda throwing partway through its batches on emulated AWS (test/support/aws-faults.ts): the
// injection, and the publish load every such test checks (crash-aws-delivery*.e2e.test.ts).
import { expect } from "vitest";
import type { FaultyAws } from "./aws-faults.ts";
import { seededRandom, tally } from "./crash.ts";
import { eventually, sleep } from "./herald.ts";
import type { Sink } from "./sink.ts";

/**
 * Makes about half the delivery invocations throw partway, up to `max` of them: some of the batch's
 * attempts went out, some not; the invocation fails as a whole and nothing is acked. The rest of it runs
 * on, as a Lambda's pending work does after its handler threw.
 */
export function throwMidBatch(target: FaultyAws, seed: string, max: number): { thrown: number; invocations: number } {
  const random = seededRandom(seed);
  const counts = { thrown: 0, invocations: 0 };
  target.aroundDeliver = async (_records, invoke) => {
    counts.invocations++;
    const run = invoke();
    if (counts.thrown >= max || random.next() >= 0.5) return run;
    await Promise.race([run.catch(() => undefined), sleep(random.int(0, 60))]);
    counts.thrown++;
    throw new Error("injected: the delivery handler threw");
  };
  return counts;
}

/**
 * Publishes 150 messages to `target`, half due at once and half delayed 1–2 s, while about half its
 * delivery invocations throw partway; every one is delivered all the same.
 */
export async function deliversThroughThrows(target: FaultyAws, sink: Sink, label: string): Promise<void> {
  const throws = throwMidBatch(target, label, 12);
  const path = `/${label.replaceAll(" ", "-")}`;
  try {
    const accepted: string[] = [];
    let delayed = 0;
    await Promise.all(
      Array.from({ length: 150 }, async (_, n) => {
        const delay = n % 2 === 0 ? 0 : 1 + (n % 3 === 0 ? 1 : 0);
        const { messageId } = await target.client.publish({
          url: `${sink.url}${path}`,
          body: `m${n}`,
          ...(delay > 0 ? { delay } : {}),
        });
        accepted.push(messageId);
        if (delay > 0) delayed++;
      }),
    );
    await eventually(() => (tally(sink.at(path), accepted).missing.length === 0 ? true : undefined), 60_000);
    const result = tally(sink.at(path), accepted);
    console.log(
      `[${label}] ${accepted.length} accepted (${delayed} delayed), ${throws.thrown} of ${throws.invocations} invocations ` +
        `threw; delivered ${accepted.length - result.missing.length}, ${result.duplicates} duplicate deliveries`,
    );
    expect(result.missing).toEqual([]);
    expect(throws.thrown).toBeGreaterThan(0);
  } finally {
    target.aroundDeliver = undefined;
  }
}
