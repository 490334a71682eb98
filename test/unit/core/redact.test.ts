import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRedactFields, redactedValue, redactMessage } from "../../../lambdas/core/redact.ts";
import { makeMessage } from "../../support/message-fixture.ts";
import { resultOrBadRequest } from "../../support/http-error.ts";

const sha = (value: string): string => createHash("sha256").update(value).digest("hex");

describe("parseRedactFields", () => {
  it("reads the SDK's spelling and QStash's docs' spelling", () => {
    expect(parseRedactFields("body")).toEqual({ body: true });
    expect(parseRedactFields("header")).toEqual({ header: true });
    expect(parseRedactFields("headers")).toEqual({ header: true });
    expect(parseRedactFields("header[Authorization],header[X-Api-Key]")).toEqual({
      header: ["Authorization", "X-Api-Key"],
    });
    expect(parseRedactFields(" body , headers[x-api-key] ")).toEqual({ body: true, header: ["X-Api-Key"] });
    // Every header wins over a list of some.
    expect(parseRedactFields("header[A],header,header[B]")).toEqual({ header: true });
    expect(parseRedactFields("")).toBeUndefined();
    expect(parseRedactFields(undefined)).toBeUndefined();
  });

  it("answers 400 for anything else", () => {
    for (const raw of ["cookies", "body[x]", "header[]", "header[a", "bodyheader", "header[a]x"]) {
      expect(() => parseRedactFields(raw)).toThrow(/Upstash-Redact-Fields/);
    }
  });

  it("never throws anything but a 400, and what it accepts names only body and headers (fuzz)", () => {
    const part = fc.oneof(
      fc.constantFrom("body", "header", "headers", "HEADER", "Body"),
      fc.string({ maxLength: 12 }).map((name) => `header[${name}]`),
      fc.string({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        const result = resultOrBadRequest(() => parseRedactFields(parts.join(",")));
        if (!result.ok || result.value === undefined) return;
        const { body, header } = result.value;
        expect(body === undefined || body === true).toBe(true);
        expect(header === undefined || header === true || Array.isArray(header)).toBe(true);
      }),
    );
  });
});

describe("redactMessage", () => {
  it("replaces the chosen values by REDACTED:<sha256 hex> and is idempotent", () => {
    const message = {
      ...makeMessage(),
      body: new TextEncoder().encode("secret"),
      header: { Authorization: ["Bearer t"], "X-Keep": ["k"] },
      redact: { body: true as const, header: ["Authorization"] },
    };
    const shown = redactMessage(message);
    expect(new TextDecoder().decode(shown.body)).toBe(`REDACTED:${sha("secret")}`);
    expect(shown.header).toEqual({ Authorization: [`REDACTED:${sha("Bearer t")}`], "X-Keep": ["k"] });
    expect(shown.redact).toBeUndefined();
    expect(redactMessage(shown)).toBe(shown);
    // The original is left alone: deliveries send it.
    expect(new TextDecoder().decode(message.body)).toBe("secret");
    expect(redactedValue("x")).toBe(`REDACTED:${sha("x")}`);
  });

  it("redacts the headers forwarded to the callbacks alike", () => {
    const shown = redactMessage({
      ...makeMessage(),
      callback: { url: "https://cb.example", header: { Authorization: ["cb-secret"] } },
      failureCallback: { url: "https://fcb.example", header: { "X-Other": ["kept"] } },
      redact: { header: ["Authorization"] },
    });
    expect(shown.callback?.header).toEqual({ Authorization: [`REDACTED:${sha("cb-secret")}`] });
    expect(shown.failureCallback?.header).toEqual({ "X-Other": ["kept"] });
  });

  it("leaves an empty body empty and a message without redaction as it is", () => {
    const plain = makeMessage();
    expect(redactMessage(plain)).toBe(plain);
    const empty = { ...plain, body: new Uint8Array(), redact: { body: true as const } };
    expect(redactMessage(empty).body.byteLength).toBe(0);
  });
});
