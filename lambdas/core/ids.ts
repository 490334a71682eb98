// Identifiers. Message ids start with their creation time so that lists and logs can be ordered and
// range-filtered by id alone (cheap on any store).
import { createHash } from "node:crypto";
/**
 * No id Herald makes is longer. Longer ones are refused before they reach a store: they name nothing,
 * and DynamoDB refuses keys over 1 KiB.
 */
export const MAX_ID_LENGTH = 256;

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Random bytes are drawn from the CSPRNG 4 KiB at a time (as crypto.randomUUID does): one call per id
// was a measurable share of a publish's CPU.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomChars(length: number, alphabet: string): string {
  if (poolOffset + length > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  let out = "";
  // 256 is not a multiple of 62; the slight bias is irrelevant for ids, and keys use 32-char alphabets.
  for (let i = poolOffset; i < poolOffset + length; i++) out += alphabet[(pool[i] as number) % alphabet.length];
  poolOffset += length;
  return out;
}

function encodeTime(ms: number): string {
  let out = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = (CROCKFORD[t % 32] as string) + out;
    t = Math.floor(t / 32);
  }
  return out;
}

export const newMessageId = (nowMs: number): string => `msg_${encodeTime(nowMs)}${randomChars(16, CROCKFORD)}`;
export const newJwtId = (): string => `jwt_${randomChars(24, ALNUM)}`;
export const newSigningKey = (): string => `sig_${randomChars(28, ALNUM)}`;
export const newApiToken = (): string => `hrld_${randomChars(40, ALNUM)}`;

/** Derived ids keep side effects idempotent when an attempt is processed twice after a crash. */
export const callbackMessageId = (sourceId: string, retried: number): string => `${sourceId}_cb${retried}`;
export const failureCallbackMessageId = (sourceId: string): string => `${sourceId}_fcb`;
/**
 * A DLQ entry's id, fixed by its message (an attempt processed twice writes one entry): its creation time
 * and 8 characters standing for the message id — the id's own last 8 (random) where it is of a publish's
 * shape, else 8 of a hash of the whole id. A derived id (a callback's `<id>_cb0`, `<id>_fcb`) ends in
 * only 4 random characters, so two failed callbacks of one millisecond could take one entry's place.
 */
export const dlqIdFor = (message: { messageId: string; createdAt: number }): string =>
  `${message.createdAt}-${PUBLISH_SHAPED.test(message.messageId) ? message.messageId.slice(-8) : digestChars(message.messageId, 8, CROCKFORD)}`;
const PUBLISH_SHAPED = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;

/** `length` characters of `alphabet` from the SHA-256 of `seed`: the tail of an id derived from it. */
function digestChars(seed: string, length: number, alphabet: string): string {
  const digest = createHash("sha256").update(seed).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[(digest[i] as number) % alphabet.length];
  return out;
}

/**
 * A message id fixed by what produced it (a schedule's firing): the same firing processed twice makes
 * the same id, so the message is created once. Same shape as newMessageId.
 */
export async function derivedMessageId(nowMs: number, seed: string): Promise<string> {
  return `msg_${encodeTime(nowMs)}${digestChars(seed, 16, CROCKFORD)}`;
}
/** A workflow run id of the Workflow SDK's shape, fixed by what made it (a DLQ entry revived). */
export async function derivedWorkflowRunId(seed: string): Promise<string> {
  return `wfr_${digestChars(seed, 21, ALNUM)}`;
}
export const newScheduleId = (): string => `scd_${randomChars(24, ALNUM)}`;

/** The creation time a message id starts with (newMessageId, derivedMessageId), or undefined. */
export function messageIdTime(messageId: string): number | undefined {
  const m = /^msg_([0-9A-HJKMNP-TV-Z]{10})/.exec(messageId);
  if (!m) return undefined;
  let t = 0;
  for (const c of m[1] as string) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}
