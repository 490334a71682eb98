import { createHeraldTable } from "../../lambdas/adapters/aws/create-table.ts";
import { DynamoStore } from "../../lambdas/adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../../lambdas/adapters/aws/s3-blob-store.ts";
import { SqsDispatcher, type SqsDispatcherOptions } from "../../lambdas/adapters/aws/sqs-dispatcher.ts";
import { EmulatedScheduler } from "../../emulation/emulated-scheduler.ts";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll } from "vitest";
import { harness, ManualClock, type CoreHarness } from "./core-harness.ts";
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  sharedDynamoDbLocal,
  startDynamoDbLocal,
  startSqsAndS3,
  type Emulator,
} from "../../emulation/emulators.ts";

export interface AwsEmulators {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  s3: S3Client;
  /** A fresh bucket name that exists. */
  bucket(): Promise<string>;
}

let started: Promise<{ emulators: AwsEmulators; stop: () => Promise<void> }> | undefined;
let counter = 0;

/**
 * DynamoDB Local and fauxqs, started once per test file on first use and stopped after it.
 * Call at module level of a test file (it registers the afterAll hook).
 */
export function useAwsEmulators(): () => Promise<AwsEmulators> {
  afterAll(async () => {
    if (started) await (await started).stop();
    started = undefined;
  });
  return async () => {
    started ??= (async () => {
      // The run's DynamoDB Local, with a database of this file's own; or one of its own (in memory).
      const shared = sharedDynamoDbLocal(uniqueName(`emulators-${process.pid}`));
      const [dynamo, sqsS3]: Emulator[] = await Promise.all([
        shared?.emulator ?? startDynamoDbLocal(),
        startSqsAndS3(),
      ]);
      const common = { region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };
      const emulators: AwsEmulators = {
        dynamodb: new DynamoDBClient({
          ...common,
          credentials: shared?.credentials ?? EMULATOR_CREDENTIALS,
          endpoint: (dynamo as Emulator).endpoint,
        }),
        sqs: new SQSClient({ ...common, endpoint: (sqsS3 as Emulator).endpoint }),
        s3: new S3Client({ ...common, endpoint: (sqsS3 as Emulator).endpoint, forcePathStyle: true }),
        async bucket() {
          const name = `herald-test-${Date.now()}-${counter++}`;
          await this.s3.send(new CreateBucketCommand({ Bucket: name }));
          return name;
        },
      };
      return {
        emulators,
        stop: async () => {
          emulators.dynamodb.destroy();
          emulators.sqs.destroy();
          emulators.s3.destroy();
          await Promise.all([dynamo?.stop(), sqsS3?.stop()]);
        },
      };
    })();
    return (await started).emulators;
  };
}

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now()}-${counter++}`;

/** A dispatcher on `queueUrl` whose long waits go to the emulated Scheduler. */
export function dispatcherFor(
  sqs: SQSClient,
  queueUrl: string,
  more: Partial<SqsDispatcherOptions> = {},
): SqsDispatcher {
  return new SqsDispatcher({
    sqs,
    queueUrl,
    scheduler: new EmulatedScheduler(sqs, () => queueUrl),
    scheduleGroup: "g",
    queueArn: "arn:aws:sqs:us-east-1:000000000000:q",
    schedulerRoleArn: "arn:aws:iam::000000000000:role/r",
    scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:p",
    ...more,
  });
}

/**
 * A DynamoStore on a fresh table, sending through `client` (one with fault-injecting middleware, say), on
 * a manual clock, with a core harness over it. `flushEvents` is left to the test (it plays the handlers'
 * flush) unless `flushes` says otherwise.
 */
export async function harnessOnDynamo(
  aws: AwsEmulators,
  client: DynamoDBClient,
  options: { deferEvents?: boolean; flushes?: boolean } = {},
): Promise<{ store: DynamoStore; clock: ManualClock; h: CoreHarness }> {
  const tableName = uniqueName("herald");
  await createHeraldTable(aws.dynamodb, tableName);
  const clock = new ManualClock();
  const store = new DynamoStore({
    client,
    tableName,
    blobs: new S3BlobStore(aws.s3, await aws.bucket()),
    retentionMs: 7 * 86_400_000,
    deferEvents: options.deferEvents ?? false,
    now: () => clock.now(),
  });
  const flushEvents = options.flushes ? { flushEvents: () => store.flushEvents() } : {};
  const h = harness({ store, now: () => clock.now(), ...flushEvents, close: async () => {} }, { clock });
  return { store, clock, h };
}
