// A message's status on DynamoDB lives in its status partition (docs/architecture.md §7): one write unit
// per write, no index entry, and the partitions are the list bulk cancel walks. Statuses written before
// (under M#<id> / #S, listed in the index) stay readable, changeable and listed.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { beforeAll, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { recordPageKey } from "../../../lambdas/adapters/aws/dynamo-event-log.ts";
import { DynamoStore } from "../../../lambdas/adapters/aws/dynamo-store.ts";
import { shardOf } from "../../../lambdas/adapters/aws/dynamo-table.ts";
import { S3BlobStore } from "../../../lambdas/adapters/aws/s3-blob-store.ts";
import { partitionedStatusKey, STATUS_PARTITIONED } from "../../../lambdas/adapters/aws/status-partitions.ts";
import { GSI_LISTS } from "../../../lambdas/adapters/aws/table-schema.ts";
import { newMessageId } from "../../../lambdas/core/ids.ts";
import type { Message, MessageState } from "../../../lambdas/core/message.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { addDynamoMiddleware, clientOfDatabase } from "../../support/dynamo-middleware.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

const RETENTION_MS = 7 * 86_400_000;

/** A DynamoDB client on the emulator that sums the write units its writes consumed (indexes included). */
async function meteredClient(base: DynamoDBClient): Promise<{ client: DynamoDBClient; writeUnits: () => number }> {
  const client = await clientOfDatabase(base);
  let units = 0;
  addDynamoMiddleware(
    client,
    (next) => async (args) => {
      const { input } = args;
      const write = "UpdateExpression" in input || "Item" in input;
      if (write) input.ReturnConsumedCapacity = "INDEXES";
      const result = await next(args);
      if (write)
        units += (result.output.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0;
      return result;
    },
    { step: "initialize", name: "meterWrites" },
  );
  return { client, writeUnits: () => units };
}

async function openStore() {
  const aws = await emulators();
  const tableName = uniqueName("status");
  await createHeraldTable(aws.dynamodb, tableName);
  const { client, writeUnits } = await meteredClient(aws.dynamodb);
  const store = new DynamoStore({
    client,
    tableName,
    blobs: new S3BlobStore(aws.s3, await aws.bucket()),
    retentionMs: RETENTION_MS,
    deferEvents: true,
  });
  const doc = DynamoDBDocumentClient.from(aws.dynamodb);
  return { store, writeUnits, doc, tableName };
}

function delayedMessage(now: number, overrides: Partial<Message> = {}): Message {
  return {
    messageId: newMessageId(now),
    url: "https://example.com/status",
    method: "POST",
    header: { "Content-Type": ["application/json"] },
    body: new TextEncoder().encode(JSON.stringify({ hello: "world" })),
    maxRetries: 3,
    labels: [],
    notBefore: now + 3_600_000,
    createdAt: now,
    ...overrides,
  };
}

const CREATED = { state: "CREATED" as const, retried: 0 };

async function pendingIds(store: DynamoStore, states: MessageState[] = ["CREATED", "RETRY"]): Promise<string[]> {
  const ids: string[] = [];
  for await (const { message } of store.scanMessages(states)) ids.push(message.messageId);
  return ids;
}

/** Rewrites a message's items as the store wrote them before status partitions: no mark, the status under M#<id>, indexed. */
async function asWrittenBefore(doc: DynamoDBDocumentClient, TableName: string, messageId: string): Promise<void> {
  const statusKey = partitionedStatusKey(messageId);
  const pageKey = recordPageKey(messageId);
  if (!statusKey || !pageKey) throw new Error("not a publish-shaped id");
  const status = (await doc.send(new GetCommand({ TableName, Key: statusKey }))).Item;
  await doc.send(new UpdateCommand({ TableName, Key: pageKey, UpdateExpression: `REMOVE ${STATUS_PARTITIONED}` }));
  if (!status) return;
  await doc.send(new DeleteCommand({ TableName, Key: statusKey }));
  await doc.send(
    new PutCommand({
      TableName,
      Item: {
        PK: `M#${messageId}`,
        SK: "#S",
        state: status.state,
        retried: status.retried,
        createdAt: status.createdAt,
        g2pk: `S#${String(status.state)}#${shardOf(messageId)}`,
        g2sk: `${String(status.createdAt).padStart(13, "0")}#${messageId}`,
        expiresAt: status.expiresAt,
      },
    }),
  );
}

/** The item in a message's status partition, as stored. */
async function partitionedStatus(doc: DynamoDBDocumentClient, TableName: string, messageId: string) {
  return (await doc.send(new GetCommand({ TableName, Key: partitionedStatusKey(messageId) }))).Item;
}

async function indexEntries(doc: DynamoDBDocumentClient, TableName: string, state: MessageState, messageId: string) {
  const result = await doc.send(
    new QueryCommand({
      TableName,
      IndexName: GSI_LISTS.indexName,
      KeyConditionExpression: "g2pk = :pk",
      ExpressionAttributeValues: { ":pk": `S#${state}#${shardOf(messageId)}` },
    }),
  );
  return (result.Items ?? []).filter((item) => item.PK === `M#${messageId}`);
}

it("writes a waiting message's status in its partition: a write unit per change, no index entry", async () => {
  const { store, writeUnits, doc, tableName } = await openStore();
  const now = Date.now();
  const message = delayedMessage(now);
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  // The record page (the message and no event: a 1-unit item) and the status: 1 + 1. With an index entry
  // the status was 2.
  expect(writeUnits()).toBe(2);
  expect(await indexEntries(doc, tableName, "CREATED", message.messageId)).toEqual([]);
  expect(await store.getMessage(message.messageId)).toEqual({ message, status: CREATED });
  expect(await pendingIds(store)).toEqual([message.messageId]);

  // A retry, then delivered: one unit each (with the index, a change of pending state was three, the
  // final one two).
  const retry = { state: "RETRY" as const, retried: 1 };
  expect(await store.updateStatus(message.messageId, CREATED, retry, [])).toBe(true);
  expect(writeUnits()).toBe(3);
  expect(await store.updateStatus(message.messageId, CREATED, retry, [])).toBe(false); // compare-and-set
  expect(await pendingIds(store, ["RETRY"])).toEqual([message.messageId]);
  expect(await pendingIds(store, ["CREATED"])).toEqual([]);
  const delivered = { state: "DELIVERED" as const, retried: 1 };
  expect(await store.updateStatus(message.messageId, retry, delivered, [])).toBe(true);
  expect(writeUnits()).toBe(4); // (the failed condition's error carries no consumed capacity)
  expect((await store.getMessage(message.messageId))?.status).toEqual(delivered);
  // The final status stays (a job given again must see it) and expires with the retention; it is not listed.
  expect(await pendingIds(store)).toEqual([]);
  const item = await partitionedStatus(doc, tableName, message.messageId);
  expect(Number(item?.expiresAt)).toBeLessThanOrEqual(Math.ceil((Date.now() + RETENTION_MS) / 1000));
});

it("lists pending messages oldest first across partitions and the index, skipping final ones", async () => {
  const { store, doc, tableName } = await openStore();
  const base = Date.now() - 60_000;
  const messages = Array.from({ length: 12 }, (_, i) => delayedMessage(base + i * 1000));
  for (const message of messages) expect(await store.createMessage(message, CREATED, [])).toBe(true);
  // Some were written before status partitions (their status in the index), some have ended.
  for (const i of [1, 4, 7]) await asWrittenBefore(doc, tableName, messages[i]!.messageId);
  for (const i of [2, 7]) {
    const ended = { state: "DELIVERED" as const, retried: 0 };
    expect(await store.updateStatus(messages[i]!.messageId, CREATED, ended, [])).toBe(true);
  }
  const expected = messages.filter((_, i) => i !== 2 && i !== 7).map((m) => m.messageId);
  expect(await pendingIds(store)).toEqual(expected);
  // The one written before left the index when it ended.
  expect(await indexEntries(doc, tableName, "CREATED", messages[7]!.messageId)).toEqual([]);
});

it("reads, changes and lists a status written before status partitions where it is", async () => {
  const { store, doc, tableName } = await openStore();
  const now = Date.now();
  const message = delayedMessage(now);
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  await asWrittenBefore(doc, tableName, message.messageId);

  expect(await store.getMessage(message.messageId)).toEqual({ message, status: CREATED });
  const cancel = { state: "CANCEL_REQUESTED" as const, retried: 0 };
  expect(await store.updateStatus(message.messageId, { state: "RETRY", retried: 0 }, cancel, [])).toBe(false);
  expect(await store.updateStatus(message.messageId, CREATED, cancel, [])).toBe(true);
  expect((await store.getMessage(message.messageId))?.status).toEqual(cancel);
  expect(await pendingIds(store, ["CANCEL_REQUESTED"])).toEqual([message.messageId]);
  expect(await indexEntries(doc, tableName, "CANCEL_REQUESTED", message.messageId)).toHaveLength(1);
  // Nothing was written in the partition.
  expect(await partitionedStatus(doc, tableName, message.messageId)).toBeUndefined();
});

it("writes the first status of a light record written before status partitions in its partition", async () => {
  const { store, doc, tableName } = await openStore();
  const now = Date.now();
  const message = delayedMessage(now, { notBefore: now, unlisted: true });
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  await asWrittenBefore(doc, tableName, message.messageId); // an unmarked page, no status

  const stored = await store.getMessage(message.messageId);
  expect(stored?.status).toEqual({ ...CREATED, implicit: true });
  const retry = { state: "RETRY" as const, retried: 1 };
  expect(await store.updateStatus(message.messageId, stored!.status, retry, [])).toBe(true);
  expect((await store.getMessage(message.messageId))?.status).toEqual(retry);
  expect(await pendingIds(store)).toEqual([message.messageId]);
});

it("keeps a larger body's status in its partition too, its message item marked", async () => {
  const { store, writeUnits } = await openStore();
  const now = Date.now();
  const body = new Uint8Array(5 * 1024).map((_, i) => (i * 131 + 7) % 251);
  const message = delayedMessage(now, { body });
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  const afterCreate = writeUnits();
  expect(await store.getMessage(message.messageId)).toEqual({ message, status: CREATED });
  expect(await pendingIds(store)).toEqual([message.messageId]);
  const failed = { state: "FAILED" as const, retried: 0 };
  expect(await store.updateStatus(message.messageId, CREATED, failed, [])).toBe(true);
  expect(writeUnits() - afterCreate).toBe(1);
  expect((await store.getMessage(message.messageId))?.status).toEqual(failed);
});

it("creates a message again over its item written before status partitions without a second status", async () => {
  const { store, doc, tableName } = await openStore();
  const now = Date.now();
  const message = delayedMessage(now);
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  await asWrittenBefore(doc, tableName, message.messageId);
  const delivered = { state: "DELIVERED" as const, retried: 0 };
  expect(await store.updateStatus(message.messageId, CREATED, delivered, [])).toBe(true);

  // The same id created again after the upgrade (a schedule's firing processed twice): not created.
  expect(await store.createMessage(message, CREATED, [])).toBe(false);
  expect((await store.getMessage(message.messageId))?.status).toEqual(delivered);
  expect(await partitionedStatus(doc, tableName, message.messageId)).toBeUndefined();
});

it("completes a create that died between its message and its status, in the status partition", async () => {
  const { store, doc, tableName } = await openStore();
  const now = Date.now();
  const message = delayedMessage(now);
  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  await doc.send(new DeleteCommand({ TableName: tableName, Key: partitionedStatusKey(message.messageId) }));
  expect(await store.getMessage(message.messageId)).toBeUndefined(); // not committed

  expect(await store.createMessage(message, CREATED, [])).toBe(true);
  expect(await store.getMessage(message.messageId)).toEqual({ message, status: CREATED });
  expect(await indexEntries(doc, tableName, "CREATED", message.messageId)).toEqual([]);
  expect(await pendingIds(store)).toEqual([message.messageId]);
});
