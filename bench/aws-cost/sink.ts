// The destination of every workload's messages.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A delay per request, uniform in [min, max] ms. */
export interface SinkDelay {
  min: number;
  max: number;
}

/** HERALD_BENCH_SINK_DELAY_MS: `50-250` (uniform per request) or `100`; unset: the sink answers at once. */
export function sinkDelayFromEnv(value = process.env.HERALD_BENCH_SINK_DELAY_MS): SinkDelay | undefined {
  if (!value) return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!match) throw new Error(`HERALD_BENCH_SINK_DELAY_MS: expected "<ms>" or "<min>-<max>", got "${value}"`);
  const min = Number(match[1]);
  const max = Number(match[2] ?? match[1]);
  if (max < min) throw new Error(`HERALD_BENCH_SINK_DELAY_MS: ${max} < ${min}`);
  return { min, max };
}

/**
 * A local HTTP destination: counts 2xx deliveries per workload; `/w/<workload>/retry/<i>` fails its first
 * attempt. With a `delay`, each request is answered after a random time in that range (a real destination's latency).
 */
export class Sink {
  private readonly server: http.Server;
  private readonly delivered = new Map<string, number>();
  private readonly failedOnce = new Set<string>();

  constructor(delay?: SinkDelay) {
    const wait = () =>
      delay
        ? new Promise((resolve) => setTimeout(resolve, delay.min + Math.random() * (delay.max - delay.min)))
        : undefined;
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on("end", async () => {
        await wait();
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
