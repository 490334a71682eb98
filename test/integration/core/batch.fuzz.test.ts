import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { publishBatch } from "../../../lambdas/core/batch.ts";
import { HttpError } from "../../../lambdas/core/errors.ts";
import { localContext } from "../../support/local.ts";

// The real local adapters; the job queue is never started, so nothing is delivered.
const ctx = localContext();

const header = fc.constantFrom(
  "upstash-retries",
  "upstash-delay",
  "upstash-method",
  "upstash-deduplication-id",
  "upstash-flow-control-key",
  "upstash-flow-control-value",
  "content-type",
  "__proto__",
);
const entry = fc.record(
  {
    destination: fc.oneof(
      fc.constantFrom("https://example.com/a", "https://example.com/b?x=1", "no-such-group", "ftp://x", ""),
      fc.string({ maxLength: 30 }),
    ),
    headers: fc.dictionary(header, fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("3", "10s", "GET"))),
    body: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(undefined)),
    queue: fc.oneof(fc.constantFrom("q1", "bad name"), fc.constant(undefined)),
  },
  { requiredKeys: ["destination"] },
);

describe("publishBatch (fuzz)", () => {
  it("answers an index-aligned array or a 4xx HttpError naming the entry, for any JSON body", async () => {
    const body = fc.oneof(
      fc.array(fc.oneof(entry, fc.anything()), { maxLength: 6 }).map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 60 }),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        try {
          const results = await publishBatch(ctx, new TextEncoder().encode(text), "127.0.0.1");
          expect(results).toHaveLength((JSON.parse(text) as unknown[]).length);
          accepted++;
          for (const result of results) {
            const items = Array.isArray(result) ? result : [result];
            for (const item of items) expect(item.messageId).toMatch(/^msg_/);
          }
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          expect(error.status).toBeGreaterThanOrEqual(400);
          expect(error.status).toBeLessThan(500);
        }
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(0); // the generator reaches the success path too
  });
});
