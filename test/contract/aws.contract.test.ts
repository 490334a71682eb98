import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { createHeraldTable } from "../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../lambdas/adapters/aws/s3-blob-store.ts";
import { uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import { storeContract } from "./store.spec.ts";
import { sweepContract } from "./sweep.spec.ts";

const emulators = useAwsEmulators();

async function openDynamo() {
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
  });
  return {
    store,
    close: async () => {
      await aws.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
    },
  };
}

storeContract("DynamoDB (DynamoDB Local) + S3 (fauxqs)", openDynamo);
sweepContract("DynamoDB (DynamoDB Local)", openDynamo);
