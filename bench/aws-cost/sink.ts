// The destination of every workload's messages.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A local HTTP destination: counts 2xx deliveries per workload; `/w/<workload>/retry/<i>` fails its first attempt. */
export class Sink {
  private readonly server: http.Server;
  private readonly delivered = new Map<string, number>();
  private readonly failedOnce = new Set<string>();

  constructor() {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const path = req.url ?? "/";
        const workload = /^\/w\/([^/]+)\//.exec(path)?.[1] ?? "other";
        if (path.includes("/retry/") && !this.failedOnce.has(path)) {
          this.failedOnce.add(path);
          res.writeHead(500).end("try again");
          return;
        }
        this.delivered.set(workload, (this.delivered.get(workload) ?? 0) + 1);
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(workload: string): number {
    return this.delivered.get(workload) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
