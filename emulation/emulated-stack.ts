// Emulated AWS is the stack: `npm run start:aws-local` synthesizes the same HeraldStack that `cdk deploy`
// would deploy (Lambda bundling skipped: only the template is read) and configures its emulators from
// that template — queue attributes, the event source mapping, each function's timeout, memory and
// environment, the schedule group — so what runs here is what AWS would run. test/integration/emulation/
// emulated-stack.test.ts fails when the emulation and the template disagree.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HeraldProps } from "../lib/herald-props.ts";

export interface QueueSettings {
  maximumMessageSize: number;
  visibilityTimeoutSec: number;
  retentionSec: number;
  /** Receives before a job moves to the redrive queue; undefined for a queue without a redrive policy. */
  maxReceiveCount?: number;
  /** A FIFO queue's attributes (AWS::SQS::Queue FifoQueue, ContentBasedDeduplication, DeduplicationScope, FifoThroughputLimit). */
  fifo?: { contentBasedDeduplication: boolean; deduplicationScope: string; fifoThroughputLimit: string };
}

/** A Lambda SQS event source mapping's settings. */
export interface MappingSettings {
  batchSize: number;
  batchingWindowSec: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency: number;
}

export interface FunctionSettings {
  timeoutSec: number;
  memoryMb: number;
  /** The variables the template sets to plain values (references to resources are the emulators'). */
  environment: Record<string, string>;
}

export interface StackSettings {
  deliveryQueue: QueueSettings;
  poisonQueue: QueueSettings;
  /** The FIFO queue of queued messages' first jobs, and its (FIFO) redrive queue. */
  orderedQueue: QueueSettings;
  orderedPoisonQueue: QueueSettings;
  /** The delivery function's SQS event source mappings, on each queue. */
  deliveryMapping: MappingSettings;
  orderedMapping: MappingSettings;
  api: FunctionSettings;
  delivery: FunctionSettings;
  scheduleGroupName: string;
  /** The recurring schedules the stack creates (the sweep), by name. */
  scheduleNames: string[];
  /** The API Lambda has a Function URL (`rawPathEndpoint`): a second endpoint that keeps the path as sent. */
  rawPathEndpoint: boolean;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
export interface CfnTemplate {
  Resources: Record<string, Resource>;
}

/** The template `cdk synth` makes for these props, synthesized in this process (about 2 s). */
export async function synthesizeTemplate(props: HeraldProps): Promise<CfnTemplate> {
  const [{ App }, { HeraldStack }] = await Promise.all([import("aws-cdk-lib"), import("../lib/herald-stack.ts")]);
  const outdir = mkdtempSync(join(tmpdir(), "herald-synth-"));
  try {
    const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
    new HeraldStack(app, "Herald", { herald: props });
    return app.synth().getStackByName("Herald").template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// Defaults AWS applies to properties a template leaves out (AWS::SQS::Queue and
// AWS::Lambda::EventSourceMapping reference pages in the CloudFormation User Guide).
const SQS_DEFAULTS = {
  MaximumMessageSize: 262_144,
  VisibilityTimeout: 30,
  MessageRetentionPeriod: 345_600,
  DeduplicationScope: "queue",
  FifoThroughputLimit: "perQueue",
};
const LAMBDA_DEFAULTS = { Timeout: 3, MemorySize: 128 };

function only(template: CfnTemplate, type: string, matches: (id: string, r: Resource) => boolean = () => true) {
  const found = Object.entries(template.Resources).filter(([id, r]) => r.Type === type && matches(id, r));
  if (found.length !== 1) throw new Error(`expected one ${type} in the template, found ${found.length}`);
  return found[0] as [string, Resource];
}

function queueSettings(resource: Resource): QueueSettings {
  const p = resource.Properties ?? {};
  const settings: QueueSettings = {
    maximumMessageSize: Number(p.MaximumMessageSize ?? SQS_DEFAULTS.MaximumMessageSize),
    visibilityTimeoutSec: Number(p.VisibilityTimeout ?? SQS_DEFAULTS.VisibilityTimeout),
    retentionSec: Number(p.MessageRetentionPeriod ?? SQS_DEFAULTS.MessageRetentionPeriod),
  };
  const redrive = p.RedrivePolicy as { maxReceiveCount?: number } | undefined;
  if (redrive?.maxReceiveCount !== undefined) settings.maxReceiveCount = Number(redrive.maxReceiveCount);
  if (p.FifoQueue === true) {
    settings.fifo = {
      contentBasedDeduplication: p.ContentBasedDeduplication === true,
      deduplicationScope: String(p.DeduplicationScope ?? SQS_DEFAULTS.DeduplicationScope),
      fifoThroughputLimit: String(p.FifoThroughputLimit ?? SQS_DEFAULTS.FifoThroughputLimit),
    };
  }
  return settings;
}

const isFifo = (r: Resource): boolean => r.Properties?.FifoQueue === true;
const hasRedrive = (r: Resource): boolean => r.Properties?.RedrivePolicy !== undefined;

function mappingSettings(m: Record<string, unknown>): MappingSettings {
  return {
    batchSize: Number(m.BatchSize ?? 10),
    batchingWindowSec: Number(m.MaximumBatchingWindowInSeconds ?? 0),
    reportBatchItemFailures: ((m.FunctionResponseTypes as string[] | undefined) ?? []).includes(
      "ReportBatchItemFailures",
    ),
    // Without a cap Lambda scales to the account's concurrency; 1000 stands for that here.
    maximumConcurrency: Number(
      (m.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? 1000,
    ),
  };
}

function functionSettings(resource: Resource): FunctionSettings {
  const p = resource.Properties ?? {};
  const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) if (typeof value === "string") environment[name] = value;
  return {
    timeoutSec: Number(p.Timeout ?? LAMBDA_DEFAULTS.Timeout),
    memoryMb: Number(p.MemorySize ?? LAMBDA_DEFAULTS.MemorySize),
    environment,
  };
}

/** Reads what the emulators must apply out of a synthesized template. */
export function stackSettings(template: CfnTemplate): StackSettings {
  const queue = (fifo: boolean, redrive: boolean) =>
    only(template, "AWS::SQS::Queue", (_, r) => isFifo(r) === fifo && hasRedrive(r) === redrive);
  const [deliveryId, delivery] = queue(false, true);
  const [, poison] = queue(false, false);
  const [orderedId, ordered] = queue(true, true);
  const [, orderedPoison] = queue(true, false);
  const mappingOf = (queueId: string) =>
    only(template, "AWS::Lambda::EventSourceMapping", (_, r) => {
      const source = r.Properties?.EventSourceArn as { "Fn::GetAtt"?: string[] } | undefined;
      return source?.["Fn::GetAtt"]?.[0] === queueId;
    });
  const [, mapping] = mappingOf(deliveryId);
  const [, orderedMapping] = mappingOf(orderedId);
  if (JSON.stringify(orderedMapping.Properties?.FunctionName) !== JSON.stringify(mapping.Properties?.FunctionName)) {
    throw new Error("expected the delivery function on both queues");
  }
  const deliveryFunctionId = (mapping.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref;
  const [, deliveryFunction] = only(template, "AWS::Lambda::Function", (id) => id === deliveryFunctionId);
  // The API function is the one API Gateway's integration invokes (`Fn::GetAtt [<id>, Arn]` in its URI).
  const [, integration] = only(template, "AWS::ApiGatewayV2::Integration");
  const apiFunctionId = (integration.Properties?.IntegrationUri as { "Fn::GetAtt"?: string[] } | undefined)?.[
    "Fn::GetAtt"
  ]?.[0];
  const [, apiFunction] = only(template, "AWS::Lambda::Function", (id) => id === apiFunctionId);
  const [, group] = only(template, "AWS::Scheduler::ScheduleGroup");
  return {
    deliveryQueue: queueSettings(delivery),
    poisonQueue: queueSettings(poison),
    orderedQueue: queueSettings(ordered),
    orderedPoisonQueue: queueSettings(orderedPoison),
    deliveryMapping: mappingSettings(mapping.Properties ?? {}),
    orderedMapping: mappingSettings(orderedMapping.Properties ?? {}),
    api: functionSettings(apiFunction),
    delivery: functionSettings(deliveryFunction),
    scheduleGroupName: String(group.Properties?.Name),
    scheduleNames: Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::Scheduler::Schedule")
      .map((r) => String(r.Properties?.Name)),
    rawPathEndpoint: Object.values(template.Resources).some(
      (r) =>
        r.Type === "AWS::Lambda::Url" &&
        (r.Properties?.TargetFunctionArn as { "Fn::GetAtt"?: string[] } | undefined)?.["Fn::GetAtt"]?.[0] ===
          apiFunctionId,
    ),
  };
}

/**
 * The HERALD_* variables that change the stack, as plain values: what props are made of (propsOf), and
 * the template cache's key.
 */
export interface StackInputs {
  maxTimeoutSec?: number;
  maxBodyBytes?: number;
  retentionSec?: number;
  backoffFactor?: number;
  destinationPolicy: HeraldProps["destinationPolicy"];
  destinationAllowList?: string[];
  messageRecords?: HeraldProps["messageRecords"];
  rawPathEndpoint?: true;
}

/**
 * What of the environment the stack depends on. Developers deliver to localhost: the destination policy
 * is `any` unless the environment says otherwise.
 */
export async function stackInputs(env: Record<string, string | undefined>): Promise<StackInputs> {
  const { configFromEnv } = await import("../lambdas/core/config.ts");
  const config = configFromEnv(env, "any");
  return {
    ...(env.HERALD_MAX_TIMEOUT ? { maxTimeoutSec: config.maxTimeoutSec } : {}),
    ...(env.HERALD_MAX_BODY_BYTES ? { maxBodyBytes: config.maxBodyBytes } : {}),
    ...(env.HERALD_RETENTION ? { retentionSec: config.retentionMs / 1000 } : {}),
    ...(env.HERALD_BACKOFF_FACTOR ? { backoffFactor: config.backoffFactor } : {}),
    destinationPolicy:
      env.HERALD_DESTINATION_POLICY || env.HERALD_ALLOW_PRIVATE_DESTINATIONS ? config.destinations.mode : "any",
    ...(env.HERALD_DESTINATION_ALLOW_LIST
      ? { destinationAllowList: env.HERALD_DESTINATION_ALLOW_LIST.split(",") }
      : {}),
    ...(env.HERALD_MESSAGE_RECORDS ? { messageRecords: config.messageRecords } : {}),
    // Emulation only (a construct prop, not a Lambda variable): the Function URL endpoint.
    ...(env.HERALD_RAW_PATH_ENDPOINT === "true" ? { rawPathEndpoint: true as const } : {}),
  };
}

/**
 * The construct props that HERALD_* variables stand for, so that `HERALD_MAX_TIMEOUT=30s npm run
 * start:aws-local` emulates the stack `maxDeliveryTimeout: 30 s` deploys (its queue visibility and
 * function timeouts follow from it, as they would on AWS).
 */
export async function propsOf(inputs: StackInputs): Promise<HeraldProps> {
  const { Duration } = await import("aws-cdk-lib");
  const { maxTimeoutSec, retentionSec, ...rest } = inputs;
  return {
    ...rest,
    ...(maxTimeoutSec === undefined ? {} : { maxDeliveryTimeout: Duration.seconds(maxTimeoutSec) }),
    ...(retentionSec === undefined ? {} : { retention: Duration.seconds(retentionSec) }),
  };
}
