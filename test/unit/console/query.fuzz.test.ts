// The console parses what users type into headers and filters: it must either build a request or say what
// is wrong, never throw something else or send a header the browser would refuse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { listQuery, parseHeaderLines } from "../../../console/src/query.ts";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

describe("console input parsers (fuzz)", () => {
  it("header lines: valid pairs, or an error naming the line", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        try {
          for (const [name, value] of parseHeaderLines(text)) {
            expect(name).toMatch(TOKEN);
            expect(value).toMatch(/^[\t\x20-\x7e\x80-\xff]*$/);
            expect(value).toBe(value.trim());
          }
        } catch (error) {
          expect((error as Error).message).toMatch(
            /^header line \d+: (write it as "Name: value"|the value has characters a header cannot carry)$/,
          );
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("header lines: every well-formed line comes back as written", () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
    const value = fc.stringMatching(/^[ -~]{0,30}$/).map((v) => v.trim());
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
        const text = pairs.map(([n, v]) => `${n}: ${v}`).join("\n");
        expect(parseHeaderLines(text)).toEqual(pairs);
      }),
    );
  });

  it("list queries: every non-empty field round-trips through the query string", () => {
    const key = fc.constantFrom("url", "label", "queueName", "scheduleId", "topicName", "messageId");
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ maxLength: 40 })), (values) => {
        const parsed = new URLSearchParams(listQuery(values));
        for (const [name, value] of Object.entries(values)) {
          expect(parsed.get(name)).toBe(value.trim() === "" ? null : value.trim());
        }
      }),
    );
  });
});
