// A light record on DynamoDB is its own log page (docs/architecture.md §19): one write for the message and
// its CREATED entry, found again by id alone. A record written the other way (a message item and a log
// page: another id shape, or a record from before record pages) stays readable the same.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { beforeAll, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../../lambdas/adapters/aws/s3-blob-store.ts";
import { newMessageId } from "../../../lambdas/core/ids.ts";
import type { Message } from "../../../lambdas/core/message.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { addDynamoMiddleware, clientOfDatabase } from "../../support/dynamo-middleware.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

/** A DynamoDB client on the emulator that counts the commands it sends, by name. */
async function countingClient(base: DynamoDBClient): Promise<{ client: DynamoDBClient; sent: string[] }> {
  const client = await clientOfDatabase(base);
  const sent: string[] = [];
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      sent.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "countCommands" },
  );
  return { client, sent };
}

function lightMessage(now: number, overrides: Partial<Message> = {}): Message {
  return {
    messageId: newMessageId(now),
    url: "https://example.com/record-page",
    method: "POST",
    header: { "Content-Type": ["application/json"] },
    body: new TextEncoder().encode(JSON.stringify({ hello: "world", n: now })),
    maxRetries: 3,
    labels: [],
    notBefore: now,
    createdAt: now,
    unlisted: true,
    ...overrides,
  };
}

async function openStore() {
  const aws = await emulators();
  const tableName = uniqueName("pages");
  await createHeraldTable(aws.dynamodb, tableName);
  const { client, sent } = await countingClient(aws.dynamodb);
  const store = new DynamoStore({
    client,
    tableName,
    blobs: new S3BlobStore(aws.s3, await aws.bucket()),
    retentionMs: 7 * 86_400_000,
    deferEvents: true, // as the Lambda handlers run it: a request's events wait for its flush
  });
  return { store, sent, client };
}

it("writes a published light record as one item, found by id and in the log with its message", async () => {
  const { store, sent } = await openStore();
  const now = Date.now();
  const message = lightMessage(now);
  const created = { time: now, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
  await store.flushEvents(); // the request's own log page: nothing left to write
  expect(sent).toEqual(["PutItemCommand"]);

  const stored = await store.getMessage(message.messageId);
  expect(stored?.message).toEqual(message);
  expect(stored?.status).toEqual({ state: "CREATED", retried: 0, implicit: true });
  const logged = [];
  for await (const { item } of store.scanEvents({ order: "latestFirst", fromTime: now - 1000 })) logged.push(item);
  expect(logged).toEqual([{ event: created, message }]);
});

it("writes a full record's message as its record page, beside its status item", async () => {
  const { store, sent } = await openStore();
  const now = Date.now();
  const message = lightMessage(now, { unlisted: undefined, notBefore: now + 3_600_000 }); // delayed: listed
  const created = { time: now, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
  // Created again (a schedule firing processed twice): nothing new.
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(false);
  await store.flushEvents();
  expect(sent).toEqual(["PutItemCommand", "PutItemCommand", "PutItemCommand", "PutItemCommand"]);

  const stored = await store.getMessage(message.messageId);
  expect(stored).toEqual({ message, status: { state: "CREATED", retried: 0 } });
  const pending = [];
  for await (const found of store.scanMessages(["CREATED"])) pending.push(found.message.messageId);
  expect(pending).toEqual([message.messageId]);
  const logged = [];
  for await (const { item } of store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] })) {
    logged.push(item);
  }
  expect(logged).toEqual([{ event: created, message }]);
});

it("writes a message with a larger body as a message item, read the same way", async () => {
  const { store, sent } = await openStore();
  const now = Date.now();
  // Over the record pages' body limit: its own item (and partition), the event in the request's page.
  const message = lightMessage(now, { body: new Uint8Array(5 * 1024).map((_, i) => (i * 131 + 7) % 251) });
  const created = { time: now, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
  await store.flushEvents();
  expect(sent).toEqual(["PutItemCommand", "BatchWriteItemCommand"]);

  const stored = await store.getMessage(message.messageId);
  expect(stored?.message).toEqual(message);
  expect(stored?.status).toEqual({ state: "CREATED", retried: 0, implicit: true });
  const logged = [];
  for await (const { item } of store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] })) {
    logged.push(item);
  }
  expect(logged).toEqual([{ event: created, message }]);
});

it("keeps one record per id when a create's events cannot share its page (a later create of the id)", async () => {
  const { store, sent } = await openStore();
  const now = Date.now();
  const message = lightMessage(now);
  // Created first with an event later than the id's time (a publish taking over a dead one's ids): the
  // record page holds the message, the event goes into the request's log page.
  const late = { time: now + 5, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage({ ...message, createdAt: now + 5 }, { state: "CREATED", retried: 0 }, [late])).toBe(
    true,
  );
  await store.flushEvents();
  expect(sent).toEqual(["PutItemCommand", "BatchWriteItemCommand"]);
  // Created again, with an event that would fit the page: the same item, so nothing is written.
  const early = { time: now, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [early])).toBe(false);
  expect((await store.getMessage(message.messageId))?.message.createdAt).toBe(now + 5);
  const logged = [];
  for await (const { item } of store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] })) {
    logged.push(item.event);
  }
  expect(logged).toEqual([late]);
});

it("lets a message created while other events wait for the invocation's page join that page", async () => {
  const { store, sent } = await openStore();
  const now = Date.now();
  const message = lightMessage(now, { unlisted: undefined, notBefore: now + 60_000 });
  const created = { time: now, messageId: message.messageId, state: "CREATED" as const };
  const delivered = { time: now, messageId: newMessageId(now), state: "DELIVERED" as const };
  await store.appendEvents([delivered]); // a delivery batch's event, deferred to the flush
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
  await store.flushEvents();
  // The record page (holding no event) and the status, then one page for both events.
  expect(sent).toEqual(["PutItemCommand", "PutItemCommand", "BatchWriteItemCommand"]);
  expect(await store.getMessage(message.messageId)).toEqual({ message, status: { state: "CREATED", retried: 0 } });
});

it("finds nothing for an id that names no record, in either place", async () => {
  const { store } = await openStore();
  expect(await store.getMessage(newMessageId(Date.now()))).toBeUndefined();
  expect(await store.getMessage("msg_not_of_the_shape")).toBeUndefined();
});

it("reads a record page eventually consistently, and again consistently when that read misses it", async () => {
  const { store, client } = await openStore();
  const now = Date.now();
  const message = lightMessage(now);
  const created = { time: now, messageId: message.messageId, state: "CREATED" as const };
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
  await store.flushEvents();

  // The store's client, with a middleware that notes each read (its partition's prefix and whether it
  // is consistent) and can play a replica that has not seen the page's write yet (its eventually
  // consistent read finds nothing).
  const reads: string[] = [];
  let laggingReplica = false;
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      const input = args.input as { ConsistentRead?: boolean; Key?: { PK: string } };
      if (context.commandName === "QueryCommand") reads.push("query");
      if (context.commandName !== "GetItemCommand") return next(args);
      const consistent = input.ConsistentRead === true;
      reads.push(`${input.Key?.PK.split("#")[0]} ${consistent ? "consistent" : "eventual"}`);
      if (laggingReplica && !consistent) return { output: { $metadata: {} } };
      return next(args);
    },
    { step: "initialize", name: "laggingReplica" },
  );

  expect((await store.getMessage(message.messageId))?.message).toEqual(message);
  // The status (none: a light record) from its partition, and half a read unit: the page as written.
  expect(reads.sort()).toEqual(["L eventual", "MS consistent"]);

  reads.length = 0;
  laggingReplica = true;
  expect((await store.getMessage(message.messageId))?.message).toEqual(message);
  // The miss looks under M#<id> (where a larger body's message item is), then at the page again.
  expect(reads.slice(2)).toEqual(["query", "L consistent"]);
  expect(reads.slice(0, 2).sort()).toEqual(["L eventual", "MS consistent"]);
});

it("lists a waiting message whose page a lagging replica has not seen: its miss is read again consistently", async () => {
  const { store, client } = await openStore();
  const now = Date.now();
  // A delayed message: its status in a partition (what bulk cancel walks), its message as a record page.
  const message = lightMessage(now, { notBefore: now + 3_600_000, unlisted: undefined });
  expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [])).toBe(true);

  // Eventually consistent reads are a replica's, which may not have seen a write acknowledged a moment
  // ago (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html):
  // the partition's (eventually consistent) query sees the status, while the page's read misses it.
  const batchReads: boolean[] = [];
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      if (context.commandName !== "BatchGetItemCommand") return next(args);
      const input = args.input as { RequestItems: Record<string, { ConsistentRead?: boolean }> };
      const consistent = Object.values(input.RequestItems).every((request) => request.ConsistentRead === true);
      batchReads.push(consistent);
      if (consistent) return next(args);
      return { output: { Responses: {}, UnprocessedKeys: {}, $metadata: {} } };
    },
    { step: "initialize", name: "laggingReplica" },
  );
  const listed: string[] = [];
  for await (const { message: found } of store.scanMessages(["CREATED"])) listed.push(found.messageId);
  expect(listed).toEqual([message.messageId]);
  expect(batchReads).toEqual([false, true]); // one eventually consistent read, then the miss consistently
});
