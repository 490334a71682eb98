// DynamoDB Local as the emulators start it (emulation/emulators.ts): its own JVM, files in a directory.
import { readdirSync } from "node:fs";
import { relative } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { expect, it } from "vitest";
import { createHeraldTable } from "../../../lambdas/adapters/aws/create-table.ts";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, startDynamoDbLocal } from "../../../emulation/emulators.ts";
import { testDir } from "../../support/herald.ts";

it("keeps its files in a directory given relative to the working directory (the default `.herald-aws`)", async () => {
  const dir = testDir();
  const given = relative(process.cwd(), dir);
  expect(given.startsWith("/")).toBe(false);
  const dynamo = await startDynamoDbLocal({ path: given });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: EMULATOR_REGION,
    credentials: EMULATOR_CREDENTIALS,
  });
  try {
    await createHeraldTable(client, "kept");
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(["kept"]);
    expect(readdirSync(dir).some((file) => file.endsWith(".db"))).toBe(true);
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}, 60_000);
