// A write DynamoDB applied whose answer was lost (a timeout after the request landed) is retried by the
// SDK, and the retry fails its condition. The store must still know its own write: found by
// bench/faults.ts, where such lost claims stalled queues until the sweep's threshold.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../../lambdas/adapters/aws/s3-blob-store.ts";
import { cancelMessage, cancelMessages } from "../../../lambdas/core/cancel.ts";
import { getFlowControl } from "../../../lambdas/core/flow-control.ts";
import type { DeliveryJob } from "../../../lambdas/ports.ts";
import { harnessOnDynamo, uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { addDynamoMiddleware, clientOfDatabase } from "../../support/dynamo-middleware.ts";
import { publishTo, RECEIVER } from "../../support/core-harness.ts";
import { putRecord } from "../../../lambdas/core/records.ts";

const emulators = useAwsEmulators();

/** A DynamoDB client whose next `operation` is carried out, then answered with a timeout (retried by the SDK). */
async function losingAnswers(base: DynamoDBClient): Promise<{
  client: DynamoDBClient;
  loseNext: (operation: string) => void;
  failNext: (operation: string) => void;
}> {
  const client = await clientOfDatabase(base, { maxAttempts: 3 });
  let lose: string | undefined;
  let fail: string | undefined;
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      const result = await next(args);
      if (fail !== undefined && context.commandName === `${fail}Command`) {
        fail = undefined;
        // Not retryable: the error reaches the caller although the write was applied.
        throw Object.assign(new Error("injected: the answer was lost"), { name: "ValidationException", $metadata: {} });
      }
      if (lose !== undefined && context.commandName === `${lose}Command`) {
        lose = undefined;
        throw Object.assign(new Error("injected: the answer was lost"), { name: "TimeoutError", $metadata: {} });
      }
      return result;
    },
    { step: "deserialize", name: "loseAnswer" },
  );
  return { client, loseNext: (operation) => void (lose = operation), failNext: (operation) => void (fail = operation) };
}

describe("DynamoStore when an applied write's answer is lost", () => {
  it("knows its own queue-turn claim and re-claim, deduplication claim and queue entry", async () => {
    const aws = await emulators();
    const tableName = uniqueName("lost");
    await createHeraldTable(aws.dynamodb, tableName);
    const { client, loseNext, failNext } = await losingAnswers(aws.dynamodb);
    const store = new DynamoStore({
      client,
      tableName,
      blobs: new S3BlobStore(aws.s3, await aws.bucket()),
      retentionMs: 86_400_000,
    });
    await store.putQueueEntry("q", { seq: 1, messageId: "msg_1" });
    loseNext("UpdateItem");
    expect(await store.setQueueEntryParked("q", 1, false, 1000)).toBe(true); // the claim that stands is ours
    expect(await store.setQueueEntryParked("q", 1, false, 1001)).toBe(false); // and no one else's
    expect((await store.headQueueEntries("q", 1))[0]).toMatchObject({ parked: false, claimedAt: 1000 });

    // The SDK's retries used up: the lost answer reaches the store as an error. The claim stood, so the
    // store reads it back and says so.
    await store.putQueueEntry("q", { seq: 2, messageId: "msg_2" });
    failNext("UpdateItem");
    expect(await store.setQueueEntryParked("q", 2, false, 2000)).toBe(true);

    // A turn given again (its job lost) whose answer was lost: the claim that stands is this one.
    loseNext("UpdateItem");
    expect(await store.reclaimQueueEntry("q", 1, 1000, 70_000)).toBe(true);
    expect(await store.reclaimQueueEntry("q", 1, 1000, 70_001)).toBe(false); // and no one else's
    expect((await store.headQueueEntries("q", 1))[0]).toMatchObject({ parked: false, claimedAt: 70_000 });
    failNext("UpdateItem");
    expect(await store.reclaimQueueEntry("q", 1, 70_000, 140_000)).toBe(true);

    loseNext("PutItem");
    expect(await store.claimDedup("dd", "mine", 1000, 60_000)).toBeUndefined();
    expect(await store.claimDedup("dd", "theirs", 1000, 60_000)).toBe("mine");

    // A wait-list entry whose put's answer was lost: the SDK's retry finds it, and it is this waiter's.
    loseNext("PutItem");
    expect(await store.putQueueEntry("fc:k", { seq: 7, messageId: "msg_3|0" })).toBe(true);
    expect(await store.putQueueEntry("fc:k", { seq: 7, messageId: "msg_4|0" })).toBe(false);
    client.destroy();
  });

  it("knows its own status change: a cancel answers 1 (alone and in bulk), a settle logs its events", async () => {
    const aws = await emulators();
    const { client, loseNext } = await losingAnswers(aws.dynamodb);
    const { store, clock, h } = await harnessOnDynamo(aws, client, { deferEvents: true, flushes: true });
    const logged = async (id: string): Promise<string[]> => {
      await store.flushEvents();
      const states: string[] = [];
      for await (const { item } of store.scanEvents({ order: "earliestFirst", messageIds: [id] })) {
        states.push(item.event.state);
      }
      return states;
    };

    // A delayed message's status in its partition (UpdateItem), a light record's first one (PutItem).
    const delayed = await publishTo(h, "/delayed", { headers: { "Upstash-Delay": "1h" } });
    loseNext("UpdateItem");
    expect(await h.invoke(() => cancelMessage(h.ctx, delayed))).toEqual({ cancelled: 1 });
    expect((await store.getMessage(delayed))?.status.state).toBe("CANCEL_REQUESTED");
    expect(await logged(delayed)).toContain("CANCEL_REQUESTED");

    const light = await publishTo(h, "/light");
    loseNext("PutItem");
    expect(await h.invoke(() => cancelMessage(h.ctx, light))).toEqual({ cancelled: 1 });
    expect((await store.getMessage(light))?.status.state).toBe("CANCEL_REQUESTED");

    const inBulk = await publishTo(h, "/in-bulk", { headers: { "Upstash-Delay": "1h" } });
    loseNext("UpdateItem");
    expect(await h.invoke(() => cancelMessages(h.ctx, { filter: { url: [`${RECEIVER}/in-bulk`] } }))).toEqual({
      cancelled: 1,
    });
    expect((await store.getMessage(inBulk))?.status.state).toBe("CANCEL_REQUESTED");

    // An attempt's settle (DELIVERED, in the partition) whose answer was lost still logs the attempt.
    const settled = await publishTo(h, "/settled", { headers: { "Upstash-Delay": "1s" } });
    clock.advance(1_000);
    const job = h.jobs.find((j) => j.messageId === settled) as DeliveryJob;
    loseNext("UpdateItem");
    expect(await h.deliver(job)).toBe("delivered");
    expect((await store.getMessage(settled))?.status.state).toBe("DELIVERED");
    expect(await logged(settled)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
    client.destroy();
  });

  it("knows its own record write: a flow-control slot is taken once, and the attempt runs", async () => {
    const aws = await emulators();
    const { client, loseNext } = await losingAnswers(aws.dynamodb);
    const { store, h } = await harnessOnDynamo(aws, client);
    loseNext("PutItem");
    expect(await putRecord(store, "queue", "q", { n: 1 }, undefined)).toBe(true); // created: ours
    loseNext("PutItem");
    expect(await putRecord(store, "queue", "q", { n: 2 }, 1)).toBe(true); // changed: ours
    expect(await putRecord(store, "queue", "q", { n: 3 }, 1)).toBe(false); // and no one else's
    expect(await store.getRecord("queue", "q")).toMatchObject({ value: { n: 2 }, version: 2 });

    const flow = { "Upstash-Flow-Control-Key": "one", "Upstash-Flow-Control-Value": "parallelism=1" };
    await publishTo(h, "/flow", { headers: flow });
    const job = h.jobs.shift() as DeliveryJob;
    loseNext("PutItem"); // the slot's write on the key's record
    expect(await h.deliver(job)).toBe("delivered");
    expect(await getFlowControl(h.ctx, "one")).toMatchObject({ parallelismCount: 0 });
    await publishTo(h, "/flow-next", { headers: flow });
    await h.runJobs();
    expect(h.delivered).toEqual(["/flow", "/flow-next"]);
    client.destroy();
  });
});
