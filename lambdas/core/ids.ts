// Identifiers. Message ids start with their creation time so that lists and logs can be ordered and
// range-filtered by id alone (cheap on any store).
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomChars(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 256 is not a multiple of 62; the slight bias is irrelevant for ids, and keys use 32-char alphabets.
  for (const b of bytes) out += alphabet[b % alphabet.length];
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
export const dlqIdFor = (message: { messageId: string; createdAt: number }): string =>
  `${message.createdAt}-${message.messageId.slice(-8)}`;
