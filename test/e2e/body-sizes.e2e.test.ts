// Bodies from 1 KiB to 900 KiB arrive byte for byte, signed over their exact bytes, on every platform —
// across each size boundary Herald has: 32 KiB (carried in the SQS job in the lean mode), ~100 KiB (an
// item's inline limit: S3 above), and the emulated queue's maximum size taken from the stack.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODES, startHerald, type TestHerald } from "../support/herald.ts";
import { Sink } from "../support/sink.ts";

const SIZES_KIB = [1, 11, 12, 16, 31, 32, 33, 99, 100, 101, 500, 900];

const variants: { name: string; mode: (typeof MODES)[number]; env?: Record<string, string> }[] = [
  { name: "local", mode: "local" },
  { name: "aws-local", mode: "aws-local" },
  { name: "aws-local, lean message records", mode: "aws-local", env: { HERALD_MESSAGE_RECORDS: "lean" } },
];

for (const variant of variants) {
  describe(`bodies of every size [${variant.name}]`, () => {
    let herald: TestHerald;
    let sink: Sink;
    beforeAll(async () => {
      herald = await startHerald({ mode: variant.mode, ...(variant.env ? { env: variant.env } : {}) });
      sink = await Sink.start();
    }, 60_000);
    afterAll(async () => {
      await herald.close();
      await sink.close();
    });

    it("delivers each byte for byte, with a signature over exactly those bytes", async () => {
      const bodies = new Map(SIZES_KIB.map((kib) => [kib, randomBytes(kib * 1024)]));
      for (const [kib, body] of bodies) {
        await herald.client.publish({
          url: `${sink.url}/size/${kib}`,
          body: new Blob([new Uint8Array(body)]),
          headers: { "Content-Type": "application/octet-stream" },
        });
      }
      for (const [kib, body] of bodies) {
        const [got] = await sink.waitFor(`/size/${kib}`, 1, 30_000);
        expect(Buffer.compare(got?.body as Buffer, body), `${kib} KiB`).toBe(0);
        // The signature's `body` claim is the SHA-256 of exactly the delivered bytes (the Receiver checks it
        // over a string; a binary body is checked here over its bytes).
        const claims = JSON.parse(
          Buffer.from((got?.headers["upstash-signature"] as string).split(".")[1] as string, "base64url").toString(),
        ) as { body: string; sub: string };
        expect(claims.body.replace(/=+$/, "")).toBe(createHash("sha256").update(body).digest("base64url"));
        expect(claims.sub).toBe(`${sink.url}/size/${kib}`);
      }
    }, 90_000);
  });
}
