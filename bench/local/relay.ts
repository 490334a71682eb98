// The end-to-end ceiling: a bare node:http relay that forwards each published body to its destination over a
// keep-alive agent and stores nothing. `POST /v2/publish/<url>` forwards the body to <url>; `POST /v2/batch`
// (a JSON array of `{destination, body}`) forwards every entry. It answers 201 once the destination answered
// (a plain proxy: no durability, no signing, no retries). Runs in its own process.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveCommands } from "./processes.ts";

// The same pool size as Herald's sender (lambdas/adapters/http/http-sender.ts).
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const PUBLISH = "/v2/publish/";

function forward(url: string, body: Buffer | string, contentType: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) },
    });
    req.on("error", () => resolve(0));
    req.on("response", (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.end(body);
  });
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

async function handle(path: string, contentType: string, body: Buffer, res: http.ServerResponse): Promise<void> {
  if (path.startsWith(PUBLISH)) {
    const url = path.slice(PUBLISH.length);
    const status = await forward(url, body, contentType);
    return answer(res, status >= 200 && status < 300 ? 201 : 502, { messageId: `msg_${randomUUID()}`, url });
  }
  if (path === "/v2/batch") {
    const entries = JSON.parse(body.toString()) as { destination: string; body?: string }[];
    const statuses = await Promise.all(entries.map((e) => forward(e.destination, e.body ?? "", "application/json")));
    const ok = statuses.every((s) => s >= 200 && s < 300);
    return answer(
      res,
      ok ? 201 : 502,
      entries.map((e) => ({ messageId: `msg_${randomUUID()}`, url: e.destination })),
    );
  }
  answer(res, 404, { error: "not found" });
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    handle(req.url ?? "/", req.headers["content-type"] ?? "application/octet-stream", Buffer.concat(chunks), res).catch(
      () => answer(res, 500, { error: "relay failed" }),
    );
  });
});
server.keepAliveTimeout = 65_000;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => {
  serveCommands((server.address() as AddressInfo).port, async () => ({}));
});
