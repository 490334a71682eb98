// Builds Herald's context for a Lambda container from its environment, once per container.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoStore } from "../adapters/aws/dynamo-store.ts";
import { S3BlobStore } from "../adapters/aws/s3-blob-store.ts";
import { SecretsManagerKeys } from "../adapters/aws/secrets-manager-keys.ts";
import { SchedulerCronTrigger } from "../adapters/aws/scheduler-cron-trigger.ts";
import { SqsDispatcher } from "../adapters/aws/sqs-dispatcher.ts";
import { NodeHttpSender } from "../adapters/http/http-sender.ts";
import { loadOnce, readConsoleAssets, type ConsoleAssetSource } from "../console/console-assets.ts";
import { configFromEnv } from "../core/config.ts";
import { logger, recordMetric } from "./observability.ts";
import type { HeraldContext } from "../core/context.ts";

type Env = Record<string, string | undefined>;

/**
 * Emulated AWS only: the environment to read instead of process.env, and stand-ins for the clients of
 * services that have no emulator (EventBridge Scheduler, Secrets Manager).
 */
export interface Emulation {
  env: Env;
  scheduler: Pick<SchedulerClient, "send">;
  secretsManager: Pick<SecretsManagerClient, "send">;
  /**
   * Benchmarks only, default none: called once with every AWS SDK client this context creates (DynamoDB,
   * SQS, S3), e.g. to add middleware that counts requests and consumed capacity (bench/aws-cost.ts).
   */
  instrument?: (client: DynamoDBClient | SQSClient | S3Client) => void;
  /** Where the console's files come from instead of the bundle's `console/` directory. */
  consoleAssets?: ConsoleAssetSource;
  /**
   * The Lambda container the calling invocation runs in. Lambda runs concurrent invocations in separate
   * containers, each with its own memory; the emulation runs them in one process, so each container it
   * models gets its own context (and with it, its store's per-process state: group commits, flow-control
   * hand-overs, the buffered log page).
   */
  container: () => object | undefined;
}

let emulation: Emulation | undefined;
interface AwsContext {
  context: HeraldContext;
  dispatcher: SqsDispatcher;
  /** Its log events are written when the handler calls store.flushEvents(), once per invocation. */
  store: DynamoStore;
}

let cached: AwsContext | undefined;
/** Emulated: each modelled container's context. */
let containers = new WeakMap<object, AwsContext>();

export function emulateAws(next: Emulation | undefined): void {
  emulation = next;
  cached = undefined;
  containers = new WeakMap();
}

/** Client settings: on Lambda the defaults; in emulation the endpoints and credentials of the emulators. */
// A hung AWS call must not eat the Lambda's time budget: fail it and let SQS redeliver.
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 10_000 };

function clientConfig(env: Env, service: "DYNAMODB" | "SQS" | "S3") {
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`];
  if (!endpoint) return { requestHandler };
  return {
    requestHandler,
    endpoint,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "local",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "local",
    },
  };
}

/** Hands a new client to the emulation's instrument hook, if any. */
function instrumented<C extends DynamoDBClient | SQSClient | S3Client>(client: C): C {
  emulation?.instrument?.(client);
  return client;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** The calling container's context, built on its first invocation (a cold start). */
export function awsContext(): AwsContext {
  if (!emulation) return (cached ??= containerContext());
  const container = emulation.container();
  if (!container) throw new Error("emulated AWS: an invocation outside a container");
  let context = containers.get(container);
  if (!context) containers.set(container, (context = containerContext()));
  return context;
}

function containerContext(): AwsContext {
  const env = emulation?.env ?? process.env;
  const config = configFromEnv(env, "public"); // on AWS non-public destinations are refused unless configured
  const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const sqs = instrumented(new SQSClient(clientConfig(env, "SQS")));
  const scheduling = {
    queueArn: required(env, "HERALD_QUEUE_ARN"),
    // Adaptive retries: a throttled CreateSchedule slows this client down instead of failing at once; past
    // them the dispatcher falls back to SQS (SqsDispatcher.dispatch).
    scheduler: emulation?.scheduler ?? new SchedulerClient({ requestHandler, retryMode: "adaptive", maxAttempts: 5 }),
    scheduleGroup: required(env, "HERALD_SCHEDULE_GROUP"),
    schedulerRoleArn: required(env, "HERALD_SCHEDULER_ROLE_ARN"),
    scheduleDeadLetterArn: required(env, "HERALD_SCHEDULE_DLQ_ARN"),
  };
  const s3Config = { ...clientConfig(env, "S3"), forcePathStyle: emulation !== undefined };
  const dispatcher = new SqsDispatcher({
    sqs,
    queueUrl: required(env, "HERALD_QUEUE_URL"),
    ...(env.HERALD_ORDERED_QUEUE_URL ? { orderedQueueUrl: env.HERALD_ORDERED_QUEUE_URL } : {}),
    ...scheduling,
    onScheduleFallback: (error) => {
      recordMetric("SchedulerFallbacks", 1);
      logger.warn("EventBridge Scheduler refused a one-time schedule: the wait hops through SQS", error as Error);
    },
  });
  const store = new DynamoStore({
    client: instrumented(new DynamoDBClient(clientConfig(env, "DYNAMODB"))),
    tableName: required(env, "HERALD_TABLE"),
    // Made on first use: only bodies too large for an item go to S3 (s3-blob-store.ts).
    blobs: new S3BlobStore(
      async () => instrumented(new (await import("@aws-sdk/client-s3")).S3Client(s3Config)),
      required(env, "HERALD_BUCKET"),
    ),
    retentionMs: config.retentionMs,
    deferEvents: true,
  });
  const context: HeraldContext = {
    store,
    dispatcher,
    keys: new SecretsManagerKeys({
      client: emulation?.secretsManager ?? new SecretsManagerClient({ requestHandler }),
      secretId: required(env, "HERALD_SECRET_ARN"),
    }),
    sender: new NodeHttpSender({
      destinations: config.destinations,
      maxResponseBodyBytes: config.maxResponseBodyBytes,
    }),
    clock,
    cron: new SchedulerCronTrigger(scheduling),
    config,
    // Read on the first GET /console, not at init: the bundling put the built console next to index.js
    // (lib/api.ts).
    consoleAssets: loadOnce(
      emulation?.consoleAssets ?? (() => readConsoleAssets(`${env.LAMBDA_TASK_ROOT ?? "."}/console`)),
    ),
  };
  return { context, dispatcher, store };
}
