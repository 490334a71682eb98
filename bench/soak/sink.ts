// The soak's destination, in its own process. Counts deliveries by `Upstash-Message-Id` (a 2xx answered
// for an id already answered 2xx is a duplicate), answers 500 to the first attempt of each message sent to
// /fail-once/… (so Herald retries it), and counts callbacks (POST /callback) by their `sourceMessageId`.
// Node's default keepAliveTimeout (5 s) is kept, as a typical destination would, so Herald's idle
// connections to it close after the load and its fds can be seen going back to the baseline.
//
// Commands (IPC): stats; ids (the delivered and called-back ids, to compare with what was accepted).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveCommands } from "../local/processes.ts";

const delivered = new Set<string>();
const failedOnce = new Set<string>();
const callbacks = new Set<string>();
let duplicates = 0;
let callbackDuplicates = 0;
let retriedDeliveries = 0;
let requests = 0;
let lastAt = 0;

export interface SinkStats {
  delivered: number;
  duplicates: number;
  failedOnce: number;
  retriedDeliveries: number;
  callbacks: number;
  callbackDuplicates: number;
  requests: number;
  lastAt: number;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    requests++;
    lastAt = Date.now();
    const id = req.headers["upstash-message-id"];
    const path = req.url ?? "/";
    let status = 200;
    if (typeof id !== "string") status = 400;
    else if (path.startsWith("/callback")) {
      const source = (JSON.parse(Buffer.concat(chunks).toString()) as { sourceMessageId?: string }).sourceMessageId;
      if (typeof source !== "string") status = 400;
      else if (callbacks.has(source)) callbackDuplicates++;
      else callbacks.add(source);
    } else if (path.startsWith("/fail-once") && !failedOnce.has(id)) {
      failedOnce.add(id);
      status = 500;
    } else {
      if (delivered.has(id)) duplicates++;
      else delivered.add(id);
      if (req.headers["upstash-retried"] !== "0") retriedDeliveries++;
    }
    res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": 2 });
    res.end(status === 200 ? "ok" : "no");
  });
});
server.listen(0, "127.0.0.1", () => {
  serveCommands((server.address() as AddressInfo).port, async (command) => {
    switch (command.type) {
      case "stats":
        return {
          delivered: delivered.size,
          duplicates,
          failedOnce: failedOnce.size,
          retriedDeliveries,
          callbacks: callbacks.size,
          callbackDuplicates,
          requests,
          lastAt,
        } satisfies SinkStats;
      case "ids":
        return { delivered: [...delivered], callbacks: [...callbacks] };
      default:
        throw new Error(`unknown command ${String(command.type)}`);
    }
  });
});
