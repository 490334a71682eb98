import { createHash, createHmac } from "node:crypto";

const LIFETIME_SEC = 300;
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

/** base64url SHA-256 of the body, with padding as QStash sends it (receivers strip `=` before comparing). */
export function bodyHash(body: Uint8Array): string {
  return `${createHash("sha256").update(body).digest("base64url")}=`;
}

/**
 * The `Upstash-Signature` JWT (docs/qstash-api.md §21): HS256 keyed by the signing key's UTF-8 bytes,
 * iss "Upstash", sub = the exact URL requested, 5-minute lifetime, nbf 0 so receiver clock skew never
 * rejects it (as QStash does since Sep 2024).
 *
 * Signed with node:crypto's HMAC rather than jose: one fixed header and one HMAC is all HS256 signing
 * is, and jose's WebCrypto path cost several times more CPU per delivery (a hop to the thread pool per
 * token; BENCHMARKS.md). The unit tests check every token byte for byte against jose's SignJWT.
 */
export function signDelivery(args: {
  signingKey: string;
  url: string;
  body: Uint8Array;
  nowMs: number;
  jwtId: string;
}): string {
  const iat = Math.floor(args.nowMs / 1000);
  const claims = {
    body: bodyHash(args.body),
    iss: "Upstash",
    sub: args.url,
    iat,
    exp: iat + LIFETIME_SEC,
    nbf: 0,
    jti: args.jwtId,
  };
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const mac = createHmac("sha256", args.signingKey).update(signingInput).digest("base64url");
  return `${signingInput}.${mac}`;
}
