import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll } from "vitest";
import { createHeraldTable } from "../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../lambdas/adapters/aws/s3-blob-store.ts";
import { uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import { storeContract } from "./store.spec.ts";
import { sweepContract } from "./sweep.spec.ts";

const emulators = useAwsEmulators();
// The emulators (DynamoDB Local is a JVM) start before the first test, so a slow start on a busy machine
// is not counted against that test's time.
beforeAll(() => emulators(), 120_000);

/** `deferEvents`: as the Lambda handlers run the store (aws-context.ts), log events wait for a flush. */
async function openDynamo({ deferEvents = false } = {}) {
  const aws = await emulators();
  const tableName = uniqueName("herald");
  await createHeraldTable(aws.dynamodb, tableName);
  const store = new DynamoStore({
    client: aws.dynamodb,
    tableName,
    blobs: new S3BlobStore(aws.s3, await aws.bucket()),
    retentionMs: 7 * 86_400_000,
    // The contract writes events at fixed past and future times; a clock far enough ahead keeps them
    // inside the scanned window.
    now: () => 1_950_000_000_000,
    deferEvents,
  });
  return {
    store,
    close: async () => {
      await store.flushEvents(); // nothing left to write once the table is gone
      await aws.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
    },
  };
}

storeContract("DynamoDB (DynamoDB Local) + S3 (fauxqs)", () => openDynamo());
storeContract("DynamoDB (DynamoDB Local) + S3 (fauxqs), log events deferred to a flush", () =>
  openDynamo({ deferEvents: true }),
);
sweepContract("DynamoDB (DynamoDB Local)", () => openDynamo());
