// Deferred log events on DynamoDB (docs/architecture.md §7, "Log pages"): a handler's events wait for the
// rest of its batch and go out as one page. History waits up to a second; a light record's end and a lean
// message's events, the only record that the message ended, go out within 100 ms. Time is played by the test's own timers, so what
// "not yet" means is exact.
import { beforeAll, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { DynamoEventLog, type FlushTimers } from "../../../lambdas/adapters/aws/dynamo-event-log.ts";
import { DynamoTable } from "../../../lambdas/adapters/aws/dynamo-table.ts";
import { newMessageId } from "../../../lambdas/core/ids.ts";
import type { LogEvent, Message } from "../../../lambdas/core/message.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { clientOfDatabase, failingCommands } from "../../support/dynamo-middleware.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

/** Timers that fire only when the test moves their clock on. */
class PlayedTimers implements FlushTimers {
  private time = 0;
  private next = 0;
  private readonly pending = new Map<number, { at: number; run: () => void }>();
  now = (): number => this.time;
  set(run: () => void, ms: number): number {
    this.pending.set(++this.next, { at: this.time + ms, run });
    return this.next;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  pendingCount(): number {
    return this.pending.size;
  }
  /** Moves the clock to `time`, running the timers due by then in order. */
  advanceTo(time: number): void {
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= time).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].run();
    }
    this.time = time;
  }
}

async function openLog() {
  const aws = await emulators();
  const tableName = uniqueName("flush");
  await createHeraldTable(aws.dynamodb, tableName);
  const client = await clientOfDatabase(aws.dynamodb, { maxAttempts: 1 });
  const failing = failingCommands(client);
  const timers = new PlayedTimers();
  const log = new DynamoEventLog({
    table: new DynamoTable(client, tableName),
    retentionMs: 7 * 86_400_000,
    now: Date.now,
    defer: true,
    getMessage: async () => undefined,
    recordOf: async () => undefined,
    timers,
  });
  /** The page key of each event of `id` written so far, in order. */
  const pagesOf = async (id: string): Promise<string[]> => {
    const pages: string[] = [];
    for await (const { position } of log.scanEvents({ order: "earliestFirst", messageIds: [id] })) {
      const key = position.key ?? "";
      pages.push(key.slice(0, key.lastIndexOf(".")));
    }
    return pages;
  };
  return { log, timers, pagesOf, failing };
}

const event = (messageId: string, state: LogEvent["state"]): LogEvent => ({ time: Date.now(), messageId, state });

/** Polls until `check` holds, for at most 10 s (a write is under way). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("not written within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("keeps a batch's history for up to a second, so a long batch writes one page, not one every 100 ms", async () => {
  const { log, timers, pagesOf } = await openLog();
  const id = newMessageId(Date.now());
  await log.appendEvents([event(id, "ACTIVE")]);
  timers.advanceTo(999); // a FIFO batch's next record runs meanwhile
  expect(await pagesOf(id)).toEqual([]); // no timer ran: no write under way
  await log.appendEvents([event(id, "DELIVERED")]);
  timers.advanceTo(1000);
  await eventually(async () => (await pagesOf(id)).length === 2);
  const pages = await pagesOf(id);
  expect(new Set(pages).size).toBe(1); // both events in one page
  await log.flushEvents(); // the handler's flush has nothing left
  expect(await pagesOf(id)).toEqual(pages);
});

it("writes a light record's end within 100 ms, with the history that waited before it", async () => {
  const { log, timers, pagesOf } = await openLog();
  const [before, light] = [newMessageId(Date.now()), newMessageId(Date.now())];
  await log.appendEvents([event(before, "ACTIVE"), event(before, "DELIVERED")]);
  timers.advanceTo(500);
  await log.appendEvents([event(light, "ACTIVE"), event(light, "DELIVERED")], [], [light]);
  timers.advanceTo(599);
  expect(await pagesOf(light)).toEqual([]);
  timers.advanceTo(600); // 100 ms after the end, 400 ms before the history's own second
  await eventually(async () => (await pagesOf(light)).length === 2);
  expect(await pagesOf(before)).toHaveLength(2);
  expect((await pagesOf(before))[0]).toBe((await pagesOf(light))[0]); // one page for both
});

it("writes a lean message's events within 100 ms too: a job given again looks for its end there", async () => {
  const { log, timers, pagesOf } = await openLog();
  const now = Date.now();
  const carried: Message = {
    messageId: newMessageId(now),
    url: "https://example.com/lean",
    method: "POST",
    header: {},
    body: new TextEncoder().encode("lean"),
    maxRetries: 3,
    labels: [],
    notBefore: now,
    createdAt: now,
  };
  const id = carried.messageId;
  await log.appendEvents([event(id, "CREATED"), event(id, "ACTIVE"), event(id, "DELIVERED")], [carried]);
  timers.advanceTo(99);
  expect(await pagesOf(id)).toEqual([]);
  timers.advanceTo(100);
  await eventually(async () => (await pagesOf(id)).length === 3);
});

it("tries a light record's end again soon when its page could not be written, not only at the handler's flush", async () => {
  const { log, timers, pagesOf, failing } = await openLog();
  const id = newMessageId(Date.now());
  failing.add("BatchWriteItemCommand");
  await log.appendEvents([event(id, "ACTIVE"), event(id, "DELIVERED")], [], [id]);
  timers.advanceTo(100); // the write fails (kept for later)
  await eventually(async () => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // the failed write's turn has run
    return timers.pendingCount() > 0;
  });
  failing.clear();
  timers.advanceTo(200);
  await eventually(async () => (await pagesOf(id)).length === 2);
});
