// DynamoTable.batchGet: the store lists messages found through an index with one BatchGetItem per 100
// hits. Answers come back in any order and DynamoDB may leave keys unprocessed under load: the items must
// still come back in the order asked, every one of them.
import { BatchWriteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { beforeAll, expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { DynamoTable } from "../../../lambdas/adapters/aws/dynamo-table.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { addDynamoMiddleware, clientOfDatabase } from "../../support/dynamo-middleware.ts";

const emulators = useAwsEmulators();
beforeAll(() => emulators(), 120_000);

interface BatchGetOutput {
  Responses?: Record<string, Record<string, { S?: string }>[]>;
  UnprocessedKeys?: Record<string, { Keys: Record<string, { S?: string }>[] }>;
}

/** A client whose BatchGetItem answers of more than `withheld` items leave the first `withheld` unprocessed. */
async function withholding(
  base: DynamoDBClient,
  withheld: number,
): Promise<{ client: DynamoDBClient; calls: () => number }> {
  const client = await clientOfDatabase(base);
  let calls = 0;
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== "BatchGetItemCommand") return result;
      calls++;
      const output = result.output as BatchGetOutput;
      for (const [table, items] of Object.entries(output.Responses ?? {})) {
        const held = items.length > withheld ? items.splice(0, withheld) : [];
        if (held.length === 0) continue;
        const keys = held.map(({ PK, SK }) => ({ PK: PK as { S: string }, SK: SK as { S: string } }));
        output.UnprocessedKeys = { ...output.UnprocessedKeys, [table]: { Keys: keys } };
      }
      return result;
    },
    { step: "deserialize", name: "withholdKeys", priority: "high" },
  );
  return { client, calls: () => calls };
}

it("reads items 100 keys at a time, in the order of the keys, through unprocessed keys", async () => {
  const aws = await emulators();
  const tableName = uniqueName("batch");
  await createHeraldTable(aws.dynamodb, tableName);
  const ids = Array.from({ length: 230 }, (_, i) => `item-${String(i).padStart(3, "0")}`);
  for (let i = 0; i < ids.length; i += 25) {
    const requests = ids.slice(i, i + 25).map((id) => ({
      PutRequest: { Item: { PK: { S: `T#${id}` }, SK: { S: "#T" }, value: { S: id }, other: { S: "x" } } },
    }));
    await aws.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
  }
  const { client, calls } = await withholding(aws.dynamodb, 7);
  const table = new DynamoTable(client, tableName);
  // Reversed, with keys that have no item among them.
  const wanted = [...ids].reverse().flatMap((id, i) => (i % 50 === 0 ? [id, `missing-${i}`] : [id]));
  const items = await table.batchGet(
    wanted.map((id) => ({ PK: `T#${id}`, SK: "#T" })),
    "#value",
    { "#value": "value" },
  );
  expect(items.map((item) => item?.value)).toEqual(wanted.map((id) => (id.startsWith("missing") ? undefined : id)));
  expect(items.every((item) => item === undefined || item.other === undefined)).toBe(true); // projected
  expect(calls()).toBe(6); // 3 chunks (235 keys), each answered in two calls
  client.destroy();
});
