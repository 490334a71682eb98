// The publish ceiling: a bare node:http server that reads the request and answers 201 with a small JSON body
// shaped like a publish response. Nothing is parsed, stored or delivered. Runs in its own process.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveCommands } from "./processes.ts";

const server = http.createServer((req, res) => {
  req.on("data", () => undefined);
  req.on("end", () => {
    const payload = JSON.stringify({ messageId: `msg_${randomUUID()}`, url: "http://sink" });
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.keepAliveTimeout = 65_000;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => {
  serveCommands((server.address() as AddressInfo).port, async () => ({}));
});
