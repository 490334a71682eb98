// Queue entries and the counters that number them, on the DynamoDB table (table-schema.ts):
//   C#<name> / #C           a counter (n)
//   QE#<queue> / <seq15>    a queue (or wait list) entry: message id m, parked p, claimed at c, claim token k
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { QueueEntries, QueueEntry } from "../../ports.ts";
import { conditional, conditionalWrite, ownWrite, writeToken, type DynamoTable, type Key } from "./dynamo-table.ts";

const padSeq = (seq: number): string => String(seq).padStart(15, "0");
const queueEntryKey = (queue: string, seq: number): Key => ({ PK: `QE#${queue}`, SK: padSeq(seq) });

export class DynamoQueueEntries implements QueueEntries {
  private readonly table: DynamoTable;

  constructor(table: DynamoTable) {
    this.table = table;
  }

  async increment(counter: string): Promise<number> {
    const result = await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: { PK: `C#${counter}`, SK: "#C" },
        UpdateExpression: "ADD n :one",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(result.Attributes?.n);
  }

  async putQueueEntry(queue: string, entry: Pick<QueueEntry, "seq" | "messageId" | "claimedAt">): Promise<boolean> {
    // The item returned with a failed condition tells a put whose answer was lost (the SDK's retry finds
    // it) from another message's entry, without a read.
    const claim = entry.claimedAt === undefined ? { p: true } : { p: false, c: entry.claimedAt };
    const put = await this.table.putIfAbsentOrOld({ ...queueEntryKey(queue, entry.seq), m: entry.messageId, ...claim });
    return put.made || put.old?.m?.S === entry.messageId;
  }

  async headQueueEntries(queue: string, limit: number): Promise<QueueEntry[]> {
    const result = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.name,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": `QE#${queue}` },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const entry: QueueEntry = { seq: Number(item.SK), messageId: item.m as string, parked: item.p === true };
      if (typeof item.c === "number") entry.claimedAt = item.c;
      if (typeof item.t === "number") entry.turn = item.t;
      return entry;
    });
  }

  async setQueueEntryParked(queue: string, seq: number, parked: boolean, now: number, turn?: number): Promise<boolean> {
    if (!parked) return this.claim(queue, seq, "p = :true", { ":true": true }, now, turn ?? null);
    return conditional(
      this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: queueEntryKey(queue, seq),
          ConditionExpression: "p = :false",
          UpdateExpression: "SET p = :true",
          ExpressionAttributeValues: { ":false": false, ":true": true },
        }),
      ),
    );
  }

  async reclaimQueueEntry(queue: string, seq: number, claimedAt: number, now: number): Promise<boolean> {
    return this.claim(queue, seq, "p = :false AND c = :was", { ":false": false, ":was": claimedAt }, now);
  }

  /**
   * Un-parks an entry, or gives its turn again, if `condition` holds. A claim carries a token of its own:
   * when the SDK retries a claim whose answer was lost (a timeout after DynamoDB applied it), the retry
   * fails its condition, and the item returned with the failure tells whether the claim that stands is
   * this one (bench/faults.ts found claims lost so, and their queues stalled until the sweep's threshold).
   */
  private async claim(
    queue: string,
    seq: number,
    condition: string,
    values: Record<string, unknown>,
    now: number,
    turn?: number | null, // null: none (removed); undefined: kept as it is (a turn given again)
  ): Promise<boolean> {
    const claim = writeToken();
    const turnUpdate = turn === undefined ? "" : turn === null ? " REMOVE t" : ", t = :turn";
    try {
      const outcome = await conditionalWrite(
        this.table.doc.send(
          new UpdateCommand({
            TableName: this.table.name,
            Key: queueEntryKey(queue, seq),
            ConditionExpression: condition,
            UpdateExpression: `SET p = :unparked, c = :now, k = :claim${turnUpdate}`,
            ExpressionAttributeValues: {
              ...values,
              ":unparked": false,
              ":now": now,
              ":claim": claim,
              ...(typeof turn === "number" ? { ":turn": turn } : {}),
            },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      return ownWrite(outcome, "k", claim);
    } catch (error) {
      // The claim's outcome is unknown (it may have landed before the error): read it back, so a claim
      // that stands is never taken for one that failed — its queue would wait with a turn out and no job.
      const { Item } = await this.table.doc
        .send(
          new GetCommand({
            TableName: this.table.name,
            Key: queueEntryKey(queue, seq),
            ConsistentRead: true,
            ProjectionExpression: "k",
          }),
        )
        .catch(() => {
          throw error;
        });
      return Item?.k === claim;
    }
  }

  async deleteQueueEntry(queue: string, seq: number): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: queueEntryKey(queue, seq) }));
  }

  async countQueueEntries(queue: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": `QE#${queue}` },
          Select: "COUNT",
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }
}
