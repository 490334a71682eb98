// Deduplication claims on the DynamoDB table (table-schema.ts):
//   DD#<id> / #DD           a claim: value, live until `until` (ms); TTL removes it later (expiresAt)
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DedupClaims } from "../../ports.ts";
import { conditionalWrite, type DynamoTable, type Key } from "./dynamo-table.ts";

const dedupKey = (id: string): Key => ({ PK: `DD#${id}`, SK: "#DD" });

export class DynamoDedupClaims implements DedupClaims {
  private readonly table: DynamoTable;

  constructor(table: DynamoTable) {
    this.table = table;
  }

  async claimDedup(id: string, value: string, now: number, expiresAt: number, replacing?: string) {
    const key = dedupKey(id);
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await conditionalWrite(
        this.table.doc.send(
          new PutCommand({
            TableName: this.table.name,
            Item: { ...key, value, until: expiresAt, expiresAt: Math.ceil(expiresAt / 1000) + 3600 },
            // TTL deletes late: an expired claim still in the table is taken over.
            ConditionExpression:
              replacing === undefined
                ? "attribute_not_exists(PK) OR #until <= :now"
                : "#value = :replacing AND #until > :now",
            ExpressionAttributeNames: { "#until": "until", ...(replacing === undefined ? {} : { "#value": "value" }) },
            ExpressionAttributeValues: { ":now": now, ...(replacing === undefined ? {} : { ":replacing": replacing }) },
            // The claim that holds the id comes back with the failure: no second read.
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      if (outcome.made) return undefined;
      const held = outcome.old;
      const live = held && Number(held.until?.N) > now ? held.value?.S : undefined;
      // This very claim, applied by an attempt whose answer was lost (the SDK retried it): it is made.
      // Claim values name the publish's own message ids and time, so no other publish writes the same.
      if (live === value) return undefined;
      if (replacing !== undefined) return live ?? "";
      if (live !== undefined) return live;
    }
    throw new Error(`could not claim deduplication id ${id}`);
  }
}
