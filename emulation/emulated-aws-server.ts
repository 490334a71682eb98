// Emulated AWS (docs/architecture.md §6): the real Lambda handlers and AWS adapters, wired to DynamoDB Local and
// fauxqs (SQS + S3). API Gateway is played by an HTTP server that builds payload-2.0 events from real
// requests; Lambda's SQS event source mapping by a poller. EventBridge Scheduler and Secrets Manager have
// no emulator: minimal stand-ins at their SDK clients, confined to this wiring.
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync, realpathSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  ConflictException,
  CreateScheduleCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
} from "@aws-sdk/client-scheduler";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type {
  APIGatewayProxyEventV2,
  Context,
  SQSBatchItemFailure,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from "aws-lambda";
import { writeConsole } from "../console/build.ts";
import { createHeraldTable } from "../lambdas/adapters/aws/create-table.ts";
import { readConsoleAssets } from "../lambdas/console/console-assets.ts";
import { sweepScheduleInput } from "../lambdas/adapters/aws/sweep-schedule.ts";
import { lockDataDir } from "../lambdas/adapters/embedded/data-dir-lock.ts";
import { configFromEnv } from "../lambdas/core/config.ts";
import { parseDuration } from "../lambdas/core/duration.ts";
import { newApiToken } from "../lambdas/core/ids.ts";
import { EmulatedScheduler } from "./emulated-scheduler.ts";
import { EmulatedSecretsManager } from "./emulated-secrets-manager.ts";
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  sharedDynamoDbLocal,
  startDynamoDbLocal,
  startSqsAndS3,
  type EmulatorCredentials,
} from "./emulators.ts";
import type { RunningHerald } from "../lambdas/server/embedded-server.ts";
import { listen, SERVER_OPTIONS } from "../lambdas/server/listen.ts";
import { FUNCTION_URL, HTTP_API, invokeApi } from "./emulated-api-gateway.ts";
import { SqsPoller } from "./sqs-poller.ts";
import { cachedTemplate } from "./template-cache.ts";
import { ContainerPool, currentContainer } from "./lambda-containers.ts";
import {
  propsOf,
  stackInputs,
  stackSettings,
  synthesizeTemplate,
  type FunctionSettings,
  type MappingSettings,
  type QueueSettings,
  type StackSettings,
} from "./emulated-stack.ts";

export interface AwsLocalOptions {
  port?: number;
  /** Port of the Function URL stand-in, when the stack has one (HERALD_RAW_PATH_ENDPOINT=true); 0: a free one. */
  rawPathPort?: number;
  host?: string;
  dataDir: string;
  /** HERALD_* settings (as in a Lambda's environment): token, keys, limits. */
  env?: Record<string, string | undefined>;
  /**
   * Observation hooks for benchmarks (bench/aws-cost.ts), all default off. `instrument` gets every AWS SDK
   * client: the Lambdas' ("lambda") and the one playing the event source mapping's poller and Scheduler's
   * sends to its target ("platform") — requests AWS bills to the queue's owner too. `onStandInRequest`
   * sees each call to the Scheduler and Secrets Manager stand-ins; `onInvoke` each handler invocation's
   * wall time in ms (as Lambda would bill it, give or take the emulators' latency) and the invocation, which
   * `currentInvocation()` returns to code running inside it (e.g. an SDK middleware timing its requests).
   */
  instrument?: (client: DynamoDBClient | SQSClient | S3Client, owner: "lambda" | "platform") => void;
  onStandInRequest?: (service: "Scheduler" | "SecretsManager", operation: string) => void;
  onInvoke?: (fn: "api" | "deliver", ms: number, invocation: Invocation) => void;
  /**
   * Crash tests only, default none: runs each delivery invocation in place of the plain call, given its
   * records and the call, e.g. to fail it partway (the handler threw: nothing of the batch is acked).
   */
  aroundDeliver?: (
    records: SQSRecord[],
    invoke: () => Promise<SQSBatchItemFailure[]>,
  ) => Promise<SQSBatchItemFailure[]>;
}

/** One handler invocation, as `onInvoke` and `currentInvocation()` identify it (only while `onInvoke` is set). */
export interface Invocation {
  fn: "api" | "deliver";
  /** An API invocation's request path (crash tests pick the invocation to fail by it). */
  path?: string;
}
const invocationScope = new AsyncLocalStorage<Invocation>();
/** The handler invocation the calling code runs in, if any (see AwsLocalOptions.onInvoke). */
export const currentInvocation = (): Invocation | undefined => invocationScope.getStore();

/** What a benchmark needs beyond the HTTP API: where the emulators are, to inspect them without counting. */
export interface AwsLocalHerald extends RunningHerald {
  /** `queueUrl`: the standard delivery queue; `orderedQueueUrl`: the FIFO queue of queued messages. */
  emulators: {
    dynamodbEndpoint: string;
    /** The credentials that reach this Herald's database in DynamoDB Local (one per access key). */
    credentials: EmulatorCredentials;
    sqsEndpoint: string;
    tableName: string;
    queueUrl: string;
    orderedQueueUrl: string;
  };
  /**
   * Stops and restarts the event source mapping's stand-in (for benchmarks: publishes measured apart from
   * deliveries, as separate Lambdas would run them, and a backlog drained in full batches).
   */
  deliveries: { pause(): Promise<void>; resume(): void };
  /**
   * Benchmarks only: redeploys the Lambdas with these HERALD_* variables changed (a deployment with other
   * props: the next invocation builds its context anew), e.g. HERALD_MESSAGE_RECORDS=lean.
   */
  redeploy(env: Record<string, string>): void;
  /**
   * As runDueSchedules, one kind only: the recurring ones (the stack's sweep) or the one-time ones (waits).
   * Benchmarks price the sweep as the idle cost it is, apart from the workload it happens to fall in.
   */
  runDueSchedulesOf(kind: "recurring" | "oneTime", now: number): Promise<void>;
  /** The settings taken from the synthesized stack, as the emulators apply them. */
  stack: StackSettings;
  /** The Function URL stand-in's URL, when the stack has the raw-path endpoint. */
  rawPathUrl?: string;
}

const TABLE = "herald";
const BUCKET = "herald-bodies";
export async function startAwsLocal(options: AwsLocalOptions): Promise<AwsLocalHerald> {
  const env: Record<string, string | undefined> = { ...options.env };
  configFromEnv(env, "any"); // invalid HERALD_* values fail here, before anything starts
  const unlock = lockDataDir(options.dataDir);
  // The stack these settings deploy, synthesized while the emulators start (emulated-stack.ts), or its
  // template from an earlier start of the same settings and code (template-cache.ts).
  const synthesized = stackInputs(env).then((inputs) =>
    cachedTemplate({ inputs, synthesize: () => propsOf(inputs).then(synthesizeTemplate) }),
  );
  synthesized.catch(() => undefined); // awaited below
  // DynamoDB Local: the tests' shared one (a database of this data directory's own), or one of its own
  // whose files are kept in the data directory.
  const shared = sharedDynamoDbLocal(realpathSync(options.dataDir)); // one database per directory, however named
  const credentials = shared?.credentials ?? EMULATOR_CREDENTIALS;
  if (!shared) mkdirSync(join(options.dataDir, "dynamodb"), { recursive: true });
  mkdirSync(join(options.dataDir, "sqs"), { recursive: true });
  const [dynamo, sqsS3] = await Promise.all([
    shared?.emulator ?? startDynamoDbLocal({ path: join(options.dataDir, "dynamodb") }),
    startSqsAndS3({ dataDir: join(options.dataDir, "sqs") }),
  ]);
  const common = { region: EMULATOR_REGION, credentials };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: dynamo.endpoint });
  const sqs = new SQSClient({ ...common, endpoint: sqsS3.endpoint });
  const s3 = new S3Client({ ...common, endpoint: sqsS3.endpoint, forcePathStyle: true });

  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: TABLE }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await createHeraldTable(dynamodb, TABLE);
  }
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined); // exists after a restart
  let stack: StackSettings;
  try {
    stack = stackSettings(await synthesized);
  } catch (error) {
    // e.g. a HERALD_* value the construct refuses (maxBodyBytes over 4 MiB): nothing is left running.
    await Promise.all([dynamo.stop(), sqsS3.stop()]);
    dynamodb.destroy();
    unlock();
    throw error;
  }
  // The one setting that is not the stack's, and only when asked: crash tests shorten the wait for a job
  // cut off by a crash (the stack's is six delivery-Lambda timeouts, 18 minutes by default).
  const visibility = env.HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT
    ? String(parseDuration(env.HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT, "HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT"))
    : undefined;
  const dlq = await createQueue(sqs, "herald-deliveries-poison", stack.poisonQueue);
  const dlqArn = await queueArn(sqs, dlq);
  const queueUrl = await createQueue(sqs, "herald-deliveries", stack.deliveryQueue, dlqArn, visibility);
  const orderedPoison = await createQueue(sqs, "herald-ordered-poison", stack.orderedPoisonQueue);
  const orderedUrl = await createQueue(
    sqs,
    "herald-ordered",
    stack.orderedQueue,
    await queueArn(sqs, orderedPoison),
    visibility,
  );

  const secretsManager = new EmulatedSecretsManager(join(options.dataDir, "secret.json"), {
    ...(env.HERALD_TOKEN ? { token: env.HERALD_TOKEN } : {}),
    ...(env.HERALD_READONLY_TOKEN ? { readOnlyToken: env.HERALD_READONLY_TOKEN } : {}),
    ...(env.HERALD_CURRENT_SIGNING_KEY ? { currentSigningKey: env.HERALD_CURRENT_SIGNING_KEY } : {}),
    ...(env.HERALD_NEXT_SIGNING_KEY ? { nextSigningKey: env.HERALD_NEXT_SIGNING_KEY } : {}),
  });
  // The stack generates the token; the Lambda would generate the read-only token on first use, done here
  // already so that it can be printed at start-up.
  secretsManager.ensure({ token: newApiToken(), readOnlyToken: newApiToken() });
  const scheduler = new EmulatedScheduler(sqs, () => queueUrl, join(options.dataDir, "schedules.json"));
  const lambdaEnv: Record<string, string | undefined> = {
    // The HERALD_* variables given here (those that are no construct prop, such as HERALD_MAX_RETRIES,
    // pass through), under the functions' environment as the stack sets it (the same for both), then
    // the emulators' resources.
    ...env,
    ...stack.delivery.environment,
    HERALD_TABLE: TABLE,
    HERALD_BUCKET: BUCKET,
    HERALD_QUEUE_URL: queueUrl,
    HERALD_QUEUE_ARN: await queueArn(sqs, queueUrl),
    HERALD_ORDERED_QUEUE_URL: orderedUrl,
    HERALD_SCHEDULE_GROUP: stack.scheduleGroupName,
    HERALD_SCHEDULER_ROLE_ARN: "arn:aws:iam::000000000000:role/herald-scheduler",
    HERALD_SCHEDULE_DLQ_ARN: dlqArn,
    HERALD_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:herald",
    AWS_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsS3.endpoint,
    AWS_ENDPOINT_URL_S3: sqsS3.endpoint,
  };
  // The stack's recurring sweep (lib/scheduling.ts), so emulated AWS heals lost queue turns as AWS does.
  await ensureSchedule(
    scheduler,
    sweepScheduleInput({
      scheduleGroup: lambdaEnv.HERALD_SCHEDULE_GROUP as string,
      queueArn: lambdaEnv.HERALD_QUEUE_ARN as string,
      schedulerRoleArn: lambdaEnv.HERALD_SCHEDULER_ROLE_ARN as string,
      scheduleDeadLetterArn: dlqArn,
    }),
  );
  // Quiet Powertools unless asked: every invocation would print its EMF metrics line.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  // The stack's service and namespace (Powertools reads them from the process when the handlers load):
  // the service is the stack's name, the dimension its dashboard and alarms read.
  for (const name of ["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"]) {
    const value = lambdaEnv[name];
    if (value !== undefined) process.env[name] ??= value;
  }
  const { emulateAws } = await import("../lambdas/handlers/aws-context.ts");
  const { instrument, onStandInRequest, onInvoke } = options;
  // A deployment's functions start with no container (the next invocations are cold).
  let containers = { api: new ContainerPool(), deliver: new ContainerPool() };
  const deploy = (): void => {
    containers = { api: new ContainerPool(), deliver: new ContainerPool() };
    emulateAws({
      env: lambdaEnv,
      container: currentContainer,
      scheduler: onStandInRequest ? observed(scheduler, "Scheduler", onStandInRequest) : scheduler,
      secretsManager: onStandInRequest ? observed(secretsManager, "SecretsManager", onStandInRequest) : secretsManager,
      ...(instrument ? { instrument: (client) => instrument(client, "lambda") } : {}),
      // Built into a directory on first use, as the stack's bundling builds it next to the API Lambda, and
      // read from there by the same reader.
      consoleAssets: async () => {
        const dir = join(options.dataDir, "api-bundle", "console");
        await writeConsole(dir);
        return readConsoleAssets(dir);
      },
    });
  };
  deploy();
  instrument?.(sqs, "platform");
  const api = await import("../lambdas/handlers/api.ts");
  const deliver = await import("../lambdas/handlers/deliver.ts");
  const timed = <T>(fn: "api" | "deliver", run: () => Promise<T>, path?: string): Promise<T> =>
    containers[fn].run(async () => {
      if (!onInvoke) return run();
      const invocation: Invocation = path === undefined ? { fn } : { fn, path };
      const start = performance.now();
      try {
        return await invocationScope.run(invocation, run);
      } finally {
        onInvoke(fn, performance.now() - start, invocation);
      }
    });

  const invokeApiLambda = (event: APIGatewayProxyEventV2) =>
    timed("api", () => api.handler(event, lambdaContext("herald-api", stack.api)), event.rawPath);
  const server = http.createServer(SERVER_OPTIONS, (req, res) => {
    void invokeApi(req, res, HTTP_API, invokeApiLambda);
  });
  // Requests the gateway itself rejects never reach the Lambda; API Gateway answers with `message`.
  await listen(server, options.port ?? 8080, options.host ?? "127.0.0.1", (status) => ({
    message: http.STATUS_CODES[status] ?? "Bad Request",
  }));
  // The event source mappings as the stack configures them: batch size, partial batch responses, and as
  // many batches at once as their maximum concurrency allows; one on each queue.
  const pollerOn = (url: string, mapping: MappingSettings) =>
    new SqsPoller({
      sqs,
      queueUrl: url,
      concurrency: mapping.maximumConcurrency,
      batchSize: mapping.batchSize,
      reportBatchItemFailures: mapping.reportBatchItemFailures,
      handler: async (records) => {
        const invoke = async (): Promise<SQSBatchItemFailure[]> => {
          const result = (await timed("deliver", () =>
            deliver.handler({ Records: records } as SQSEvent, lambdaContext("herald-deliver", stack.delivery)),
          )) as SQSBatchResponse;
          return result.batchItemFailures;
        };
        return options.aroundDeliver ? options.aroundDeliver(records, invoke) : invoke();
      },
    });
  const pollers = [pollerOn(queueUrl, stack.deliveryMapping), pollerOn(orderedUrl, stack.orderedMapping)];
  const poller = {
    start: () => pollers.forEach((p) => p.start()),
    stop: async () => void (await Promise.all(pollers.map((p) => p.stop()))),
  };
  poller.start();

  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  // The Function URL (rawPathEndpoint): the same Lambda, the path as sent.
  let rawPathServer: http.Server | undefined;
  if (stack.rawPathEndpoint) {
    rawPathServer = http.createServer(SERVER_OPTIONS, (req, res) => {
      void invokeApi(req, res, FUNCTION_URL, invokeApiLambda);
    });
    await listen(rawPathServer, options.rawPathPort ?? 0, options.host ?? "127.0.0.1", (status) => ({
      message: http.STATUS_CODES[status] ?? "Bad Request",
    }));
  }
  const rawPathPort = rawPathServer ? (rawPathServer.address() as AddressInfo).port : undefined;
  const secret = secretsManager.read();
  return {
    url: `http://${host}:${port}`,
    port,
    token: secret.token as string,
    readOnlyToken: secret.readOnlyToken as string,
    runDueSchedules: (now) => scheduler.tick(now),
    runDueSchedulesOf: (kind, now) => scheduler.tick(now, kind),
    emulators: {
      dynamodbEndpoint: dynamo.endpoint,
      credentials,
      sqsEndpoint: sqsS3.endpoint,
      tableName: TABLE,
      queueUrl,
      orderedQueueUrl: orderedUrl,
    },
    deliveries: { pause: () => poller.stop(), resume: () => poller.start() },
    stack,
    ...(rawPathPort === undefined ? {} : { rawPathUrl: `http://${host}:${rawPathPort}` }),
    redeploy(changes) {
      Object.assign(lambdaEnv, changes);
      deploy();
    },
    async close() {
      for (const s of [server, rawPathServer]) {
        if (!s) continue;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await poller.stop();
      scheduler.close();
      emulateAws(undefined);
      dynamodb.destroy();
      sqs.destroy();
      s3.destroy();
      await Promise.all([dynamo.stop(), sqsS3.stop()]);
      unlock();
    },
  };
}

/** Creates the schedule, or updates it when it exists (kept from an earlier start in the data directory). */
async function ensureSchedule(scheduler: EmulatedScheduler, input: CreateScheduleCommandInput): Promise<void> {
  try {
    await scheduler.send(new CreateScheduleCommand(input));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
    await scheduler.send(new UpdateScheduleCommand(input));
  }
}

/** A stand-in whose every call is reported (service, operation) before it runs. */
function observed<S>(
  standIn: { send: S },
  service: "Scheduler" | "SecretsManager",
  report: (service: "Scheduler" | "SecretsManager", operation: string) => void,
): { send: S } {
  const send = standIn.send as (command: object) => Promise<unknown>;
  const counted = (command: object) => {
    report(service, command.constructor.name.replace(/Command$/, ""));
    return send(command);
  };
  return { send: counted as S };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  return Attributes?.QueueArn as string;
}

/** SQS attributes of a queue as the stack sets them. */
function queueAttributes(queue: QueueSettings): Record<string, string> {
  return {
    MaximumMessageSize: String(queue.maximumMessageSize),
    VisibilityTimeout: String(queue.visibilityTimeoutSec),
    MessageRetentionPeriod: String(queue.retentionSec),
    ...(queue.fifo ? { ContentBasedDeduplication: String(queue.fifo.contentBasedDeduplication) } : {}),
  };
}

/**
 * What a FIFO queue is created with. fauxqs takes DeduplicationScope and FifoThroughputLimit only here;
 * it deduplicates across the whole queue and does not throttle, which changes nothing for Herald: its
 * deduplication ids are unique across message groups (sqs-dispatcher.ts), and throughput is not emulated.
 */
const fifoAttributes = (queue: QueueSettings): Record<string, string> =>
  queue.fifo
    ? {
        FifoQueue: "true",
        DeduplicationScope: queue.fifo.deduplicationScope,
        FifoThroughputLimit: queue.fifo.fifoThroughputLimit,
      }
    : {};

/**
 * Creates (or finds, after a restart) a queue with the stack's settings, a FIFO one under a `.fifo` name
 * (its FIFO attributes can only be given at creation). The other attributes are set on every start, so a restart with
 * other settings applies them (CreateQueue refuses to change them).
 */
async function createQueue(
  sqs: SQSClient,
  name: string,
  settings: QueueSettings,
  deadLetterArn?: string,
  visibilityTimeoutSec?: string,
): Promise<string> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: settings.fifo ? `${name}.fifo` : name,
      ...(settings.fifo ? { Attributes: fifoAttributes(settings) } : {}),
    }),
  );
  const url = created.QueueUrl as string;
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: {
        ...queueAttributes(settings),
        ...(visibilityTimeoutSec ? { VisibilityTimeout: visibilityTimeoutSec } : {}),
        ...(deadLetterArn
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: deadLetterArn,
                maxReceiveCount: String(settings.maxReceiveCount),
              }),
            }
          : {}),
      },
    }),
  );
  return url;
}

function lambdaContext(functionName: string, settings: FunctionSettings): Context {
  const deadline = Date.now() + settings.timeoutSec * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(settings.memoryMb),
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
