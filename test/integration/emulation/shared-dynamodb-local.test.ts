import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { EMULATOR_REGION, SHARED_DYNAMODB_LOCAL_ENV, sharedDynamoDbLocal } from "../../../emulation/emulators.ts";
import { uniqueName } from "../../support/aws-emulators.ts";

/** The tables `owner` sees in the run's shared DynamoDB Local (a new client each time). */
async function tablesOf(owner: string): Promise<string[]> {
  const shared = sharedDynamoDbLocal(owner);
  if (!shared) throw new Error("the run's global setup names no shared DynamoDB Local");
  const client = new DynamoDBClient({
    endpoint: shared.emulator.endpoint,
    region: EMULATOR_REGION,
    credentials: shared.credentials,
  });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

describe("the run's shared DynamoDB Local", () => {
  const saved = process.env[SHARED_DYNAMODB_LOCAL_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SHARED_DYNAMODB_LOCAL_ENV];
    else process.env[SHARED_DYNAMODB_LOCAL_ENV] = saved;
  });

  it("gives each owner a database of its own, and the same one again to the same owner", async () => {
    const [first, second] = [uniqueName("/tmp/owner-a"), uniqueName("/tmp/owner-b")];
    const shared = sharedDynamoDbLocal(first);
    expect(shared?.credentials.accessKeyId).toMatch(/^[A-Za-z0-9]+$/); // all DynamoDB Local accepts
    const client = new DynamoDBClient({
      endpoint: shared?.emulator.endpoint as string,
      region: EMULATOR_REGION,
      credentials: shared?.credentials as NonNullable<typeof shared>["credentials"],
    });
    await client.send(
      new CreateTableCommand({
        TableName: "herald",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    client.destroy();
    expect(await tablesOf(first)).toEqual(["herald"]);
    expect(await tablesOf(second)).toEqual([]);
  });

  it("is not used when the environment names none (npm run start:aws-local starts its own)", () => {
    delete process.env[SHARED_DYNAMODB_LOCAL_ENV];
    expect(sharedDynamoDbLocal("/tmp/anything")).toBeUndefined();
  });
});
