import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "../../../console/build.ts";
import { CONSOLE_CSP, serveConsole } from "../../../lambdas/api/console-route.ts";
import type { ApiRequest } from "../../../lambdas/api/http.ts";
import { consoleAssetsOf, type ConsoleAssets } from "../../../lambdas/console/console-assets.ts";

let assets: ConsoleAssets;
beforeAll(async () => {
  assets = await consoleAssetsOf(await buildConsole());
});

const request = (path: string, headers: Record<string, string> = {}, method = "GET"): ApiRequest => ({
  method,
  path,
  rawQuery: "",
  headers,
  body: new Uint8Array(0),
});
const serve = (req: ApiRequest) => serveConsole(async () => assets, req);
const text = (body: Uint8Array | undefined) => new TextDecoder().decode(body);

describe("GET /console", () => {
  it("serves the page at /console and /console/ with a strict CSP and no sniffing", async () => {
    for (const path of ["/console", "/console/", "/Console"]) {
      const response = await serve(request(path));
      expect(response.status).toBe(200);
      expect(response.raw?.headers).toMatchObject({
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": CONSOLE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
      });
      expect(text(response.raw?.body)).toContain('<script type="module" src="/console/app.js"></script>');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe|\*|https?:/);
  });

  it("has no inline script or style for the CSP to block", async () => {
    const html = text((await serve(request("/console"))).raw?.body);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
  });

  it("serves the script, stylesheet and icon with their types, gzipped for clients that take gzip", async () => {
    const plain = await serve(request("/console/app.js"));
    expect(plain.raw?.headers["Content-Type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.raw?.headers["Content-Encoding"]).toBeUndefined();
    const gzipped = await serve(request("/console/app.js", { "accept-encoding": "gzip, deflate, br" }));
    expect(gzipped.raw?.headers["Content-Encoding"]).toBe("gzip");
    expect(gunzipSync(gzipped.raw?.body as Uint8Array)).toEqual(Buffer.from(plain.raw?.body as Uint8Array));
    expect(gzipped.raw?.body.byteLength).toBeLessThan((plain.raw?.body.byteLength as number) / 2);
    expect((await serve(request("/console/console.css"))).raw?.headers["Content-Type"]).toBe("text/css; charset=utf-8");
    expect((await serve(request("/console/favicon.svg"))).raw?.headers["Content-Type"]).toBe("image/svg+xml");
  });

  it("answers 304 to a client that has this version, and nothing to HEAD", async () => {
    const first = await serve(request("/console/app.js"));
    const etag = first.raw?.headers.ETag as string;
    const again = await serve(request("/console/app.js", { "if-none-match": `"other", ${etag}` }));
    expect(again.status).toBe(304);
    expect(again.raw?.body.byteLength).toBe(0);
    const head = await serve(request("/console/app.js", {}, "HEAD"));
    expect([head.status, head.raw?.body.byteLength]).toEqual([200, 0]);
  });

  it("answers JSON errors for other methods, unknown files and a Herald without a console", async () => {
    expect(await serve(request("/console", {}, "POST"))).toEqual({
      status: 405,
      body: { error: "method POST not allowed here; use GET" },
    });
    expect(await serve(request("/console/../v2/keys"))).toEqual({ status: 404, body: { error: "not found" } });
    expect(await serve(request("/console/app.js.map"))).toEqual({ status: 404, body: { error: "not found" } });
    expect(await serveConsole(undefined, request("/console"))).toEqual({
      status: 404,
      body: { error: "this Herald serves no console" },
    });
  });
});
