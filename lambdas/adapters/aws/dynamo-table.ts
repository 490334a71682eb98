// Reading and writing Herald's one DynamoDB table (table-schema.ts): what the store and the event log
// share — paged queries, batched reads, and conditional writes told apart from failures.
import { randomBytes } from "node:crypto";
import { ConditionalCheckFailedException, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { SHARDS } from "./table-schema.ts";

export type Item = Record<string, unknown>;
export type Key = { PK: string; SK: string };

/** A time as a sort key: fixed width, so keys sort as the times do. */
export const pad = (time: number): string => String(time).padStart(13, "0");

export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The shard of a hot list an id goes to (stable, spread evenly), out of `shards`. */
export function shardOf(id: string, shards = SHARDS): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % shards;
}

/** DynamoDB leaves part of a batch unprocessed under load: the rest is sent again after this backoff. */
export const batchRetryDelay = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
const BATCH_ATTEMPTS = 8;
const BATCH_GET_KEYS = 100;

/**
 * A conditional write's outcome. `old`: the item as it stood when the condition failed, when the write
 * asked for it with `ReturnValuesOnConditionCheckFailure: "ALL_OLD"` (which saves reading it again), as
 * DynamoDB sends it (not unmarshalled); absent when there was no item.
 */
export type Conditional<T> = { made: true; result: T } | { made: false; old?: Record<string, AttributeValue> };

/** Runs a conditional write: `made` false when its condition failed; other errors throw. */
export async function conditionalWrite<T>(write: Promise<T>): Promise<Conditional<T>> {
  try {
    return { made: true, result: await write };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return error.Item ? { made: false, old: error.Item } : { made: false };
  }
}

/**
 * A token a conditional write carries (in `attribute`) so it knows its own write: when the SDK retries a
 * write whose answer was lost (a timeout after DynamoDB applied it), the retry fails its condition, and
 * the item returned with the failure (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`) says whether the
 * write that stands is this one.
 */
export const writeToken = (): string => randomBytes(9).toString("base64url");

/** Whether a conditional write carrying `token` in `attribute` stands: made now, or made by its lost first try. */
export const ownWrite = (outcome: Conditional<unknown>, attribute: string, token: string): boolean =>
  outcome.made || outcome.old?.[attribute]?.S === token;

/** True when the conditional write was made, false when its condition failed; other errors throw. */
export const conditional = async (write: Promise<unknown>): Promise<boolean> => (await conditionalWrite(write)).made;

export class DynamoTable {
  readonly doc: DynamoDBDocumentClient;
  readonly name: string;

  constructor(client: DynamoDBClient, name: string) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.name = name;
  }

  /** Puts an item unless one with its key exists; false (nothing written) when one does. */
  async putIfAbsent(item: Item): Promise<boolean> {
    return (await this.putIfAbsentOrOld(item)).made;
  }

  /**
   * putIfAbsent that, when an item with its key exists, answers with that item (as DynamoDB sends it; no
   * read unit is billed for it).
   */
  putIfAbsentOrOld(item: Item): Promise<Conditional<unknown>> {
    return conditionalWrite(
      this.doc.send(
        new PutCommand({
          TableName: this.name,
          Item: item,
          ConditionExpression: "attribute_not_exists(PK)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
  }

  /** All items of a query, page by page (index reads are eventually consistent, as logs may be). */
  async *queryAll(input: Omit<QueryCommandInput, "TableName">): AsyncIterable<Item> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.name, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /**
   * The items of `keys`, in the order of the keys (undefined where there is none): one BatchGetItem per
   * 100 keys instead of a GetItem each, sending unprocessed keys again. `projection`: the attributes to
   * read (`names` for those that are reserved words); `consistent`: strongly consistent reads (a read
   * unit per 4 KB where an eventually consistent one is half).
   */
  async batchGet(
    keys: Key[],
    projection?: string,
    names?: Record<string, string>,
    consistent = false,
  ): Promise<(Item | undefined)[]> {
    const found = new Map<string, Item>();
    const id = (key: Item): string => `${String(key.PK)}\u0000${String(key.SK)}`;
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
      let pending: Item[] = keys.slice(i, i + BATCH_GET_KEYS);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt === BATCH_ATTEMPTS) throw new Error(`DynamoDB kept ${pending.length} keys unprocessed`);
        if (attempt > 0) await batchRetryDelay(attempt - 1);
        const result = await this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.name]: {
                Keys: pending,
                // The keys are projected too: they say which key an item answers.
                ...(projection ? { ProjectionExpression: `PK, SK, ${projection}` } : {}),
                ...(names ? { ExpressionAttributeNames: names } : {}),
                ...(consistent ? { ConsistentRead: true } : {}),
              },
            },
          }),
        );
        for (const item of result.Responses?.[this.name] ?? []) found.set(id(item), item);
        pending = result.UnprocessedKeys?.[this.name]?.Keys ?? [];
      }
    }
    return keys.map((key) => found.get(id(key)));
  }
}
