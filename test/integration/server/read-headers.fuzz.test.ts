// readHeaders (local server) against Node itself: for any header block, the one-pass reading of
// `rawHeaders` must equal what `req.headers` gives (arrays joined with ", "), except for repeated
// Authorization headers, which are joined with "," where Node keeps the first.
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readHeaders } from "../../../lambdas/server/read-headers.ts";

interface Seen {
  node: Record<string, string>;
  ours: Record<string, string>;
  authorization: string[];
}

let server: http.Server;
let port: number;
let seen: Seen | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const node: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) node[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const authorization = req.rawHeaders.filter(
      (_, i) => i % 2 === 1 && /^authorization$/i.test(req.rawHeaders[i - 1] ?? ""),
    );
    seen = { node, ours: { ...readHeaders(req.rawHeaders) }, authorization };
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends one raw request and waits for its response. */
function send(lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`GET / HTTP/1.1\r\nHost: h\r\n${lines.join("\r\n")}\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", () => undefined);
    socket.on("end", () => resolve());
    socket.on("error", reject);
  });
}

// Every name Node treats specially (first wins, cookie, set-cookie, comma lists), and a few plain ones.
const NAMES = [
  "age",
  "authorization",
  "content-type",
  "etag",
  "expires",
  "from",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
  "content-disposition",
  "date",
  "vary",
  "origin",
  "accept",
  "cache-control",
  "accept-encoding",
  "x-forwarded-for",
  "cookie",
  "set-cookie",
  "upstash-retries",
  "upstash-forward-x-a",
  "x-custom",
];
const casing = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
const headerLine = fc
  .constantFrom(...NAMES)
  .chain((name) => fc.tuple(casing(name), fc.stringMatching(/^[A-Za-z0-9 ,;=._-]{1,12}$/)))
  .map(([name, value]) => ({ name, value: value.trim() || "v" }));

it("reads every header block as Node does, joining repeated Authorization headers", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(headerLine, { maxLength: 12 }), async (headers) => {
      seen = undefined;
      await send(headers.map(({ name, value }) => `${name}: ${value}`));
      const { node, ours, authorization } = seen as unknown as Seen;
      const expected = { ...node };
      if (authorization.length > 0) expected.authorization = authorization.join(",");
      expect(ours).toEqual(expected);
    }),
    { numRuns: 150 },
  );
});
