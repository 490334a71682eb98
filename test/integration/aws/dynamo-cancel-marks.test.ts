// A bulk cancel's mark between two processes on one table (core/cancel-marks.ts): the API Lambda that
// writes it and a delivery Lambda that read the marks shortly before. A cancel answered before an
// attempt starts must prevent it, though each process reads the marks at most once a second.
import { beforeAll, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../../lambdas/adapters/aws/s3-blob-store.ts";
import { cancelMessages } from "../../../lambdas/core/cancel.ts";
import {
  CANCEL_MARK_LIFE_MS,
  CANCEL_MARKS_FRESH_MS,
  MARKED_ANSWER_DELAY_MS,
} from "../../../lambdas/core/cancel-marks.ts";
import { findMessage } from "../../../lambdas/core/find-message.ts";
import type { DeliveryJob } from "../../../lambdas/ports.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { harness, ManualClock, publishTo, RECEIVER } from "../../support/core-harness.ts";
import { addDynamoMiddleware, clientOfDatabase } from "../../support/dynamo-middleware.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

/** A clock whose waits pass at once, moving it on (the test's processes share it). */
class WaitingClock extends ManualClock {
  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }
}

/** Two processes (two stores on their own clients) on one table, and the marks reads each sends. */
async function twoProcesses() {
  const aws = await emulators();
  const tableName = uniqueName("herald");
  await createHeraldTable(aws.dynamodb, tableName);
  const clock = new WaitingClock();
  const blobs = new S3BlobStore(aws.s3, await aws.bucket());
  const open = async () => {
    const client = await clientOfDatabase(aws.dynamodb);
    const marksReads = { count: 0 };
    addDynamoMiddleware(
      client,
      (next, context) => async (args) => {
        const key = args.input.Key as { PK?: string } | undefined;
        if (context.commandName === "GetItemCommand" && key?.PK === "R#cancelMarks") marksReads.count++;
        return next(args);
      },
      { step: "initialize", name: "count-marks-reads" },
    );
    const store = new DynamoStore({
      client,
      tableName,
      blobs,
      retentionMs: 7 * 86_400_000,
      deferEvents: false,
      now: () => clock.now(),
    });
    const h = harness({ store, now: () => clock.now(), close: async () => {} }, { clock });
    return { h, marksReads, close: () => client.destroy() };
  };
  return { clock, api: await open(), delivery: await open() };
}

it("a delivery that read the marks before a bulk cancel reads them again before an attempt after its answer", async () => {
  const { clock, api, delivery } = await twoProcesses();
  const id = await publishTo(delivery.h, "/late");
  const job = delivery.h.jobs.shift() as DeliveryJob;
  expect(await findMessage(delivery.h.ctx, id)).toBeDefined(); // the delivery process has read the marks
  const readAt = clock.now();

  expect(await cancelMessages(api.h.ctx, { filter: {} })).toEqual({ cancelled: 0 });
  // The cancel answered no sooner than a marks read's use ends.
  expect(clock.now() - readAt).toBeGreaterThanOrEqual(CANCEL_MARKS_FRESH_MS);
  expect(await delivery.h.deliver(job)).toBe("canceled");
  expect(delivery.h.delivered).toEqual([]);
  expect(await findMessage(api.h.ctx, id)).toBeUndefined();
  api.close();
  delivery.close();
});

it("reads the marks once for the attempts a process starts within a second", async () => {
  const { clock, delivery } = await twoProcesses();
  for (let i = 0; i < 5; i++) await publishTo(delivery.h, `/m${i}`);
  await delivery.h.drain();
  expect(delivery.h.delivered).toHaveLength(5);
  expect(delivery.marksReads.count).toBe(1);
  clock.advance(CANCEL_MARKS_FRESH_MS);
  await publishTo(delivery.h, "/after-a-second");
  await delivery.h.drain();
  expect(delivery.marksReads.count).toBe(2);
  delivery.close();
});

it("keeps the newest marks within 16 KiB: the oldest's messages are attempted; a cancel of everything replaces them all", async () => {
  const { clock, api } = await twoProcesses();
  const h = api.h;
  await publishTo(h, "/oldest", { headers: { "upstash-label": "l0" } });
  await publishTo(h, "/newest", { headers: { "upstash-label": "l11" } });
  // Twelve marks of about 1.4 KiB each (the label filter is OR: "l<i>" or a long label no message has).
  const long = "x".repeat(1400);
  for (let i = 0; i < 12; i++) await cancelMessages(h.ctx, { filter: { label: [`l${i}`, long] } });
  clock.advance(CANCEL_MARKS_FRESH_MS);
  await h.drain();
  expect(h.delivered).toEqual(["/oldest"]); // l0's mark went; l11's cancelled its message
  const marks = await h.ctx.store.getRecord<unknown[]>("cancelMarks", "unlisted");
  expect(marks?.value.length).toBeLessThan(12);

  await cancelMessages(h.ctx, { filter: {} });
  expect((await h.ctx.store.getRecord<unknown[]>("cancelMarks", "unlisted"))?.value).toHaveLength(1);
  api.close();
});

it("refuses a filter too large for a mark, before cancelling anything", async () => {
  const { api } = await twoProcesses();
  const id = await publishTo(api.h, "/a-rather-long-path/0", { headers: { "upstash-delay": "1m" } }); // matched
  const urls = Array.from({ length: 100 }, (_, i) => `https://receiver.example/a-rather-long-path/${i}`);
  await expect(cancelMessages(api.h.ctx, { filter: { url: urls } })).rejects.toMatchObject({ status: 400 });
  expect(await findMessage(api.h.ctx, id)).toBeDefined();
  api.close();
});

it("lets a mark go after 4 days, the delivery queue's retention: a job older than that is attempted", async () => {
  const { clock, delivery } = await twoProcesses();
  await publishTo(delivery.h, "/almost-four-days-late");
  await publishTo(delivery.h, "/four-days-late");
  const [almost, late] = delivery.h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
  await cancelMessages(delivery.h.ctx, { filter: {} });
  clock.advance(CANCEL_MARK_LIFE_MS - 60_000);
  expect(await delivery.h.deliver(almost)).toBe("canceled");
  clock.advance(60_000 + MARKED_ANSWER_DELAY_MS);
  expect(await delivery.h.deliver(late)).toBe("delivered");
  expect(delivery.h.delivered).toEqual(["/four-days-late"]);
  delivery.close();
});

it("keeps a concurrent cancel's later mark when an earlier cancel of everything writes after it", async () => {
  const { clock, api, delivery } = await twoProcesses();
  // The cancel of everything reads the clock, then its write is slow (a throttle, an SDK retry): meanwhile
  // a message is published and another cancel, of that message's URL, walks, writes its mark and answers.
  let cancelledMeanwhile: unknown;
  let id = "";
  const store = api.h.ctx.store;
  const getRecord = store.getRecord.bind(store);
  store.getRecord = (async (kind, name) => {
    if (kind === "cancelMarks" && !id) {
      clock.advance(300);
      id = await publishTo(delivery.h, "/meanwhile");
      clock.advance(10);
      cancelledMeanwhile = await cancelMessages(delivery.h.ctx, { filter: { url: [`${RECEIVER}/meanwhile`] } });
    }
    return getRecord(kind, name);
  }) as typeof store.getRecord;
  expect(await cancelMessages(api.h.ctx, { filter: {} })).toEqual({ cancelled: 0 });
  expect(cancelledMeanwhile).toEqual({ cancelled: 0 }); // answered: its message is reached by its mark
  clock.advance(CANCEL_MARKS_FRESH_MS);
  expect(await delivery.h.deliver(delivery.h.jobs.shift() as DeliveryJob)).toBe("canceled");
  expect(await findMessage(delivery.h.ctx, id)).toBeUndefined();
  api.close();
  delivery.close();
});
