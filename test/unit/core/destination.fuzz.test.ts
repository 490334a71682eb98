import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDestination, splitQuery } from "../../../lambdas/core/destination.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

const prefix = fc.constantFrom("https://", "http://", "https:/", "HTTP://", "https%3A%2F%2F", "ftp://", "", "a:");
const pathChars = fc.string({
  unit: fc.constantFrom(..."abcXYZ019-._~/:?#[]@!$&'()*+,;=% \\\u00e9\u4e2d"),
  maxLength: 40,
});
const rawPath = fc.oneof(
  fc.tuple(prefix, pathChars).map(([p, rest]) => p + rest),
  fc.string({ maxLength: 60 }),
  fc.webUrl(),
);

const key = fc.oneof(
  fc.constantFrom(
    "qstash_token",
    "QSTASH_TOKEN",
    "qstash%5Ftoken",
    "QStash_Token",
    "upstash-retries",
    "Upstash-Delay",
    "upstash%2Dlabel",
    "upstash-",
  ),
  fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
);
const value = fc.string({ unit: fc.constantFrom(..."abc123%+=/ :"), maxLength: 10 });
const rawQuery = fc.oneof(
  fc
    .array(fc.tuple(key, fc.option(value, { nil: undefined })), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&")),
  fc.string({ maxLength: 40 }),
);

describe("parseDestination (fuzz)", () => {
  it("returns an http(s) URL that new URL() accepts, a valid group name, or throws HttpError 400", () => {
    fc.assert(
      fc.property(rawPath, rawQuery, (path, query) => {
        const result = resultOrBadRequest(() => parseDestination(path, query));
        if (!result.ok) return;
        const destination = result.value;
        if (destination.kind === "url") {
          expect(["http:", "https:"]).toContain(new URL(destination.url).protocol);
        } else {
          expect(destination.name).toMatch(/^[A-Za-z0-9._-]+$/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("never forwards qstash_token or upstash-* parameters to the destination", () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}\.[a-z]{2,5}$/);
    const cleanPath = fc.stringMatching(/^(\/[A-Za-z0-9._~-]{0,8}){0,4}$/);
    fc.assert(
      fc.property(fc.constantFrom("https://", "http://", "https:/"), host, cleanPath, rawQuery, (s, h, p, query) => {
        const result = resultOrBadRequest(() => parseDestination(`${s}${h}${p}`, query));
        if (!result.ok || result.value.kind !== "url") return;
        expect(result.value.url.startsWith(`${s.replace(/:\/$/, "://")}${h}${p}`)).toBe(true);
        expect(result.value.url.toLowerCase()).not.toContain("qstash_token");
        expect(result.value.url.toLowerCase()).not.toContain("qstash%5ftoken");
        for (const name of new URL(result.value.url).searchParams.keys()) {
          expect(name.toLowerCase().startsWith("upstash-")).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("splitQuery (fuzz)", () => {
  it("partitions every non-empty part: kept raw in forwardQuery or moved to config", () => {
    fc.assert(
      fc.property(rawQuery, (query) => {
        const { forwardQuery, config } = splitQuery(query);
        const kept = forwardQuery === "" ? [] : forwardQuery.split("&");
        const parts = query.split("&").filter((p) => p !== "");
        // forwardQuery is a subsequence of the original parts
        let i = 0;
        for (const part of parts) if (part === kept[i]) i++;
        expect(i).toBe(kept.length);
        for (const name of Object.keys(config)) {
          expect(name.startsWith("upstash-")).toBe(true);
          expect(name).toBe(name.toLowerCase());
        }
      }),
      { numRuns: 1000 },
    );
  });
});
