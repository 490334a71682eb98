// The race and recovery specs on DynamoDB (DynamoDB Local, S3 on fauxqs), with log events written at
// once and, as in production, kept back until the handler's flush (`deferEvents`).
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll } from "vitest";
import { createHeraldTable } from "../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../lambdas/adapters/aws/s3-blob-store.ts";
import type { Clock } from "../../lambdas/ports.ts";
import { uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import type { CoreFixture, OpenCoreFixture } from "../support/core-harness.ts";
import { carriedMessagesContract } from "./carried-messages.spec.ts";
import { deliveryRacesContract } from "./delivery-races.spec.ts";
import { flowControlRecoveryContract } from "./flow-control-recovery.spec.ts";
import { queueRecoveryContract } from "./queue-recovery.spec.ts";

const emulators = useAwsEmulators();
// Started before the first test, with room for a loaded machine: their start is not a test's time.
beforeAll(() => emulators(), 180_000);

function openDynamo(deferEvents: boolean): OpenCoreFixture {
  return async (clock: Clock): Promise<CoreFixture> => {
    const aws = await emulators();
    const tableName = uniqueName("herald");
    await createHeraldTable(aws.dynamodb, tableName);
    const store = new DynamoStore({
      client: aws.dynamodb,
      tableName,
      blobs: new S3BlobStore(aws.s3, await aws.bucket()),
      retentionMs: 7 * 86_400_000,
      deferEvents,
      now: () => clock.now(),
    });
    return {
      store,
      ...(deferEvents ? { flushEvents: () => store.flushEvents() } : {}),
      close: async () => {
        await store.flushEvents(); // nothing may be left to write into a deleted table
        await aws.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
      },
    };
  };
}

for (const deferEvents of [false, true]) {
  const name = `DynamoDB (DynamoDB Local)${deferEvents ? " with deferred events" : ""}`;
  deliveryRacesContract(name, openDynamo(deferEvents));
  queueRecoveryContract(name, openDynamo(deferEvents));
  flowControlRecoveryContract(name, openDynamo(deferEvents));
  carriedMessagesContract(name, openDynamo(deferEvents));
}
