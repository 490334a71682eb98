// The destination every delivery goes to (Herald's and the bare relay's): answers 200 "ok" to anything and
// counts arrivals. A request carrying `Bench-Due` (forwarded by Herald from `Upstash-Forward-Bench-Due`)
// also records its lateness: arrival time minus that due time. Runs in its own process.
//
// Commands (IPC): reset, expect {count, timeoutMs} (resolves once that many arrived since the reset),
// lateness (the recorded lateness values).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveCommands } from "./processes.ts";
import { now } from "./stats.ts";

let count = 0;
let firstAt = Number.NaN;
let lastAt = Number.NaN;
let lateness: number[] = [];
let waiters: { count: number; resolve: () => void }[] = [];

const server = http.createServer((req, res) => {
  req.on("data", () => undefined);
  req.on("end", () => {
    const at = now();
    count++;
    if (count === 1) firstAt = at;
    lastAt = at;
    const due = req.headers["bench-due"];
    if (typeof due === "string") lateness.push(at - Number(due));
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 2 });
    res.end("ok");
    if (waiters.length > 0 && waiters.some((w) => count >= w.count)) {
      const due = waiters.filter((w) => count >= w.count);
      waiters = waiters.filter((w) => count < w.count);
      for (const w of due) w.resolve();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => {
  serveCommands((server.address() as AddressInfo).port, async (command) => {
    switch (command.type) {
      case "reset":
        count = 0;
        firstAt = lastAt = Number.NaN;
        lateness = [];
        return {};
      case "expect": {
        const target = command.count as number;
        if (count < target) {
          await new Promise<void>((resolve) => {
            const waiter = { count: target, resolve };
            waiters.push(waiter);
            setTimeout(() => {
              waiters = waiters.filter((w) => w !== waiter);
              resolve();
            }, command.timeoutMs as number);
          });
        }
        return { count, firstAt, lastAt };
      }
      case "lateness":
        return { lateness };
      default:
        throw new Error(`unknown command ${String(command.type)}`);
    }
  });
});
