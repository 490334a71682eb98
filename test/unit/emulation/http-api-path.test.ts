import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { functionUrlRawPath, httpApiRawPath } from "../../../emulation/http-api-path.ts";

describe("the HTTP API stand-in's rawPath", () => {
  it("decodes escapes, collapses repeated slashes and cuts at a decoded ?", () => {
    expect(httpApiRawPath("/v2/publish/https://x.com/a%2Fb")).toBe("/v2/publish/https:/x.com/a/b");
    expect(httpApiRawPath("/v2/publish/https://x.com/a%3Fb/c")).toBe("/v2/publish/https:/x.com/a");
    expect(httpApiRawPath("/v2/publish/https://x.com/100%25")).toBe("/v2/publish/https:/x.com/100%");
    expect(httpApiRawPath("/v2/publish/https://x.com/caf%C3%A9")).toBe("/v2/publish/https:/x.com/café");
    expect(httpApiRawPath("/v2/messages/%E0%A4%A")).toBe("/v2/messages/%E0%A4%A"); // not UTF-8: as sent
    expect(httpApiRawPath("/v2/keys")).toBe("/v2/keys");
  });

  it("never lengthens a path and leaves one without escapes or doubled slashes alone (fuzz)", () => {
    fc.assert(
      fc.property(fc.webPath(), (path) => {
        expect(httpApiRawPath(path).length).toBeLessThanOrEqual(path.length);
        if (!/%|\/\//.test(path)) expect(httpApiRawPath(path)).toBe(path);
      }),
    );
  });

  it("keeps a Function URL's path as sent", () => {
    expect(functionUrlRawPath("/v2/publish/https://x.com/a%2Fb%3Fc")).toBe("/v2/publish/https://x.com/a%2Fb%3Fc");
  });
});
