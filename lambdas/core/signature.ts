import { createHash } from "node:crypto";
import { SignJWT } from "jose";

const encoder = new TextEncoder();
const LIFETIME_SEC = 300;

/** base64url SHA-256 of the body, with padding as QStash sends it (receivers strip `=` before comparing). */
export function bodyHash(body: Uint8Array): string {
  return `${createHash("sha256").update(body).digest("base64url")}=`;
}

/**
 * The `Upstash-Signature` JWT (qstash-api.md §6): HS256 keyed by the signing key's UTF-8 bytes,
 * iss "Upstash", sub = the exact URL requested, 5-minute lifetime, nbf 0 so receiver clock skew never
 * rejects it (as QStash does since Sep 2024).
 */
export function signDelivery(args: {
  signingKey: string;
  url: string;
  body: Uint8Array;
  nowMs: number;
  jwtId: string;
}): Promise<string> {
  const iat = Math.floor(args.nowMs / 1000);
  return new SignJWT({ body: bodyHash(args.body) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(args.url)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LIFETIME_SEC)
    .setNotBefore(0)
    .setJti(args.jwtId)
    .sign(encoder.encode(args.signingKey));
}
