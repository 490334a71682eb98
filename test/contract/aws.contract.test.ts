// Every store-side contract on DynamoDB (DynamoDB Local, S3 on fauxqs), with log events written at once
// and, as the Lambda handlers run the store (aws-context.ts), kept back until a flush (`deferEvents`).
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll } from "vitest";
import { createHeraldTable } from "../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../lambdas/adapters/aws/s3-blob-store.ts";
import type { Clock } from "../../lambdas/ports.ts";
import { uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import type { CoreFixture } from "../support/core-harness.ts";
import { bulkCancelContract } from "./bulk-cancel.spec.ts";
import { carriedMessagesContract } from "./carried-messages.spec.ts";
import { deliveryRacesContract } from "./delivery-races.spec.ts";
import { flowControlLanesContract } from "./flow-control-lanes.spec.ts";
import { flowControlRecoveryContract } from "./flow-control-recovery.spec.ts";
import { queueLanesContract } from "./queue-lanes.spec.ts";
import { queueRecoveryContract } from "./queue-recovery.spec.ts";
import { scheduleFiringsContract } from "./schedule-firings.spec.ts";
import { storeContract } from "./store.spec.ts";
import { sweepContract } from "./sweep.spec.ts";
import { workflowEventsContract } from "./workflow-events.spec.ts";
import { workflowStepsContract } from "./workflow-steps.spec.ts";

const emulators = useAwsEmulators();
// The emulators (fauxqs, and a database in the run's DynamoDB Local) start before the first test, so a slow
// start on a busy machine is not counted against that test's time.
beforeAll(() => emulators(), 180_000);

// The store contract writes events at fixed past and future times; a clock far enough ahead keeps them
// inside the scanned window.
const FIXED_CLOCK: Clock = { now: () => 1_950_000_000_000 };

async function openDynamo(deferEvents: boolean, clock: Clock = FIXED_CLOCK): Promise<CoreFixture> {
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
    now: () => clock.now(),
    ...(deferEvents ? { flushEvents: () => store.flushEvents() } : {}),
    close: async () => {
      await store.flushEvents(); // nothing may be left to write into a deleted table
      await aws.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
    },
  };
}

sweepContract("DynamoDB (DynamoDB Local)", () => openDynamo(false));
workflowStepsContract("DynamoDB (DynamoDB Local) + S3 (fauxqs)", () => openDynamo(false));
for (const deferEvents of [false, true]) {
  const name = `DynamoDB (DynamoDB Local) + S3 (fauxqs)${deferEvents ? ", log events deferred to a flush" : ""}`;
  storeContract(name, () => openDynamo(deferEvents));
  const onClock = (clock: Clock) => openDynamo(deferEvents, clock);
  deliveryRacesContract(name, onClock);
  bulkCancelContract(name, onClock);
  queueRecoveryContract(name, onClock);
  scheduleFiringsContract(name, onClock);
  queueLanesContract(name, onClock);
  flowControlRecoveryContract(name, onClock);
  flowControlLanesContract(name, onClock);
  carriedMessagesContract(name, onClock);
  workflowEventsContract(name, onClock);
}
