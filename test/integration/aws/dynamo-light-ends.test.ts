// A light record's first attempt that succeeded is written only in the log (docs/architecture.md §19).
// When the delivery Lambda cannot write that log page, the end must still be recorded somewhere, or the
// message reads as pending (GET finds it, DELETE cancels it) for as long as its item lives.
import { beforeAll, expect, it } from "vitest";
import { EndsNotRecorded } from "../../../lambdas/adapters/aws/dynamo-store.ts";
import { failuresOfMessages } from "../../../lambdas/adapters/aws/sqs-delivery.ts";
import { jobJson } from "../../../lambdas/adapters/aws/sqs-dispatcher.ts";
import { cancelMessage } from "../../../lambdas/core/cancel.ts";
import { findMessage } from "../../../lambdas/core/find-message.ts";
import type { DeliveryJob } from "../../../lambdas/ports.ts";
import { harnessOnDynamo, useAwsEmulators } from "../../support/aws-emulators.ts";
import { clientOfDatabase, failingCommands } from "../../support/dynamo-middleware.ts";
import { publishTo } from "../../support/core-harness.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

/** A store on a DynamoDB client that refuses the operations named in `failing` (as an outage would). */
async function openStore() {
  const aws = await emulators();
  const client = await clientOfDatabase(aws.dynamodb, { maxAttempts: 1 });
  const failing = failingCommands(client);
  // flushEvents is left to each test: it plays the delivery handler's flush.
  const { store, h } = await harnessOnDynamo(aws, client, { deferEvents: true });
  return { h, store, failing, client };
}

it("writes a light record's end as its status when the log page cannot be written", async () => {
  const { h, store, failing, client } = await openStore();
  const id = await publishTo(h, "/light");
  const job = h.jobs.shift() as DeliveryJob;
  failing.add("BatchWriteItemCommand");
  expect(await h.deliver(job)).toBe("delivered");
  await expect(store.flushEvents()).rejects.toThrow(/DynamoDB is failing/); // the page: kept for later
  expect((await store.getMessage(id))?.status).toEqual({ state: "DELIVERED", retried: 0 });
  expect(await findMessage(h.ctx, id)).toBeUndefined();
  await expect(cancelMessage(h.ctx, id)).rejects.toThrow(/not found or no longer pending/);
  expect(await h.deliver({ ...job, redelivered: true })).toBe("skipped"); // SQS's duplicate: not again
  expect(h.delivered).toEqual(["/light"]);

  failing.clear();
  await store.flushEvents(); // a later flush of the same container writes the page it kept
  const states: string[] = [];
  for await (const { item } of store.scanEvents({ order: "earliestFirst", messageIds: [id] })) {
    states.push(item.event.state);
  }
  expect(states).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
  client.destroy();
});

it("fails the flush naming the message when its status cannot be written either, so SQS gives its job again", async () => {
  const { h, store, failing, client } = await openStore();
  const id = await publishTo(h, "/light-twice");
  const other = await publishTo(h, "/other");
  const [job, otherJob] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
  failing.add("BatchWriteItemCommand").add("PutItemCommand");
  expect(await h.deliver(job)).toBe("delivered");
  const flushed = await store.flushEvents().catch((error: unknown) => error);
  expect(flushed).toBeInstanceOf(EndsNotRecorded);
  expect((flushed as EndsNotRecorded).messageIds).toEqual([id]);
  // The batch's records: this message's job fails (SQS gives it again), another message's and a sweep's do not.
  const records = [
    { messageId: "r1", body: jobJson({ m: id, r: 0, d: 0 }) },
    { messageId: "r2", body: jobJson({ m: other, r: 0, d: 0 }) },
    { messageId: "r3", body: JSON.stringify({ sweep: 1 }) },
  ];
  expect(failuresOfMessages(records, (flushed as EndsNotRecorded).messageIds)).toEqual([{ itemIdentifier: "r1" }]);
  failing.clear();
  // Given again (its receive count over 1), it finds no end and attempts again: at least once.
  expect(await h.deliver({ ...job, redelivered: true })).toBe("delivered");
  expect(await h.deliver(otherJob)).toBe("delivered");
  await store.flushEvents();
  expect(await findMessage(h.ctx, id)).toBeUndefined();
  client.destroy();
});
