import {
  DESTINATION_MODES,
  PUBLIC_DESTINATIONS,
  parseDestinationPolicy,
  type DestinationMode,
  type DestinationPolicy,
} from "./destination-policy.ts";
import { parseDuration } from "./duration.ts";

/** Limits and defaults that a deployment may change. One object shared by both platforms. */
export interface HeraldConfig {
  /** Largest accepted message body (413 above it). QStash's free plan: 1 MB. */
  maxBodyBytes: number;
  /** `Upstash-Retries` when absent. */
  defaultRetries: number;
  /** Largest accepted `Upstash-Retries`. */
  maxRetries: number;
  /** Default backoff is min(86400, e^(factor * n)) seconds for retry n (the product brief uses 2). */
  backoffFactor: number;
  /** Per-attempt timeout when none is given, and the largest accepted `Upstash-Timeout`, in seconds. */
  maxTimeoutSec: number;
  /** Largest accepted delay, in seconds. */
  maxDelaySec: number;
  /** How long logs, DLQ entries and finished messages are kept, in ms. */
  retentionMs: number;
  /** How much of a destination's response body is kept for the DLQ, logs and callbacks. */
  maxResponseBodyBytes: number;
  /** Largest accepted page size of the list endpoints. */
  maxPageSize: number;
  /** How long a deduplication id is remembered, ms (QStash: 10 minutes). */
  deduplicationWindowMs: number;
  /** Attempts in flight at once: in the `npm start` process; on AWS the stack sets the deployment's cap (lib/herald.ts). */
  maxConcurrentDeliveries: number;
  /** Which addresses deliveries and callbacks may reach (docs/architecture.md §23). */
  destinations: DestinationPolicy;
  /**
   * `full` (the default, as QStash): every message has a record from its publish on, so it can be read
   * and cancelled at once. `lean` (opt-in, AWS): an immediate message travels inside its delivery job
   * with no record until its first attempt ends: fewer DynamoDB writes, but `GET`/`DELETE
   * /v2/messages/{id}` answer 404 for it meanwhile (see travelsWithJob).
   */
  messageRecords: MessageRecords;
}

export const MESSAGE_RECORDS = ["full", "lean"] as const;
export type MessageRecords = (typeof MESSAGE_RECORDS)[number];

export const DEFAULT_CONFIG: HeraldConfig = {
  maxBodyBytes: 1024 * 1024,
  defaultRetries: 3,
  maxRetries: 20,
  backoffFactor: 2,
  maxTimeoutSec: 15 * 60,
  maxDelaySec: 365 * 86_400,
  retentionMs: 7 * 86_400_000,
  maxResponseBodyBytes: 256 * 1024,
  maxPageSize: 1000,
  maxConcurrentDeliveries: 1000,
  deduplicationWindowMs: 10 * 60_000,
  // The safe side; local mode starts with ANY_DESTINATION (see configFromEnv).
  destinations: PUBLIC_DESTINATIONS,
  messageRecords: "full",
};

type Env = Record<string, string | undefined>;

function intFrom(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function secondsFrom(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  return parseDuration(raw, name);
}

/**
 * HERALD_DESTINATION_POLICY (`public` | `any`) and HERALD_DESTINATION_ALLOW_LIST (comma-separated host
 * names, addresses, CIDR ranges). The older HERALD_ALLOW_PRIVATE_DESTINATIONS (`true` = any, `false` =
 * public) is read when the policy is not set.
 */
function destinationsFrom(env: Env, platformDefault: DestinationMode): DestinationPolicy {
  let mode: string = platformDefault;
  const legacy = env.HERALD_ALLOW_PRIVATE_DESTINATIONS;
  if (env.HERALD_DESTINATION_POLICY) mode = env.HERALD_DESTINATION_POLICY.trim().toLowerCase();
  else if (legacy === "true" || legacy === "false") mode = legacy === "true" ? "any" : "public";
  else if (legacy) throw new Error(`HERALD_ALLOW_PRIVATE_DESTINATIONS must be true or false, got "${legacy}"`);
  if (!(DESTINATION_MODES as readonly string[]).includes(mode)) {
    throw new Error(`HERALD_DESTINATION_POLICY must be one of ${DESTINATION_MODES.join(", ")}, got "${mode}"`);
  }
  return parseDestinationPolicy(mode, env.HERALD_DESTINATION_ALLOW_LIST ?? "", "HERALD_DESTINATION_ALLOW_LIST");
}

/**
 * Reads HERALD_* variables (both platforms use the same names). Throws on invalid values at start-up.
 * `destinationDefault` is the policy when none is set: `public` on AWS, `any` in local mode (docs/architecture.md §23).
 */
export function configFromEnv(env: Env, destinationDefault: DestinationMode): HeraldConfig {
  const factor = env.HERALD_BACKOFF_FACTOR ? Number(env.HERALD_BACKOFF_FACTOR) : DEFAULT_CONFIG.backoffFactor;
  if (!Number.isFinite(factor) || factor <= 0) throw new Error("HERALD_BACKOFF_FACTOR must be a positive number");
  return {
    maxBodyBytes: intFrom(env, "HERALD_MAX_BODY_BYTES", DEFAULT_CONFIG.maxBodyBytes, 1),
    defaultRetries: intFrom(env, "HERALD_DEFAULT_RETRIES", DEFAULT_CONFIG.defaultRetries, 0),
    maxRetries: intFrom(env, "HERALD_MAX_RETRIES", DEFAULT_CONFIG.maxRetries, 0),
    backoffFactor: factor,
    maxTimeoutSec: secondsFrom(env, "HERALD_MAX_TIMEOUT", DEFAULT_CONFIG.maxTimeoutSec),
    maxDelaySec: secondsFrom(env, "HERALD_MAX_DELAY", DEFAULT_CONFIG.maxDelaySec),
    retentionMs: secondsFrom(env, "HERALD_RETENTION", DEFAULT_CONFIG.retentionMs / 1000) * 1000,
    maxResponseBodyBytes: DEFAULT_CONFIG.maxResponseBodyBytes,
    maxPageSize: DEFAULT_CONFIG.maxPageSize,
    deduplicationWindowMs:
      secondsFrom(env, "HERALD_DEDUPLICATION_WINDOW", DEFAULT_CONFIG.deduplicationWindowMs / 1000) * 1000,
    maxConcurrentDeliveries: intFrom(
      env,
      "HERALD_MAX_CONCURRENT_DELIVERIES",
      DEFAULT_CONFIG.maxConcurrentDeliveries,
      1,
    ),
    destinations: destinationsFrom(env, destinationDefault),
    messageRecords: messageRecordsFrom(env),
  };
}

/** HERALD_MESSAGE_RECORDS: `full` (default) or `lean`. */
function messageRecordsFrom(env: Env): MessageRecords {
  const raw = env.HERALD_MESSAGE_RECORDS?.trim().toLowerCase();
  if (raw === undefined || raw === "") return DEFAULT_CONFIG.messageRecords;
  if (!(MESSAGE_RECORDS as readonly string[]).includes(raw)) {
    throw new Error(`HERALD_MESSAGE_RECORDS must be one of ${MESSAGE_RECORDS.join(", ")}, got "${raw}"`);
  }
  return raw as MessageRecords;
}
