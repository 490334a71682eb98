import { afterAll, beforeAll } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Name/value pairs as sent, for names a plain object cannot hold (e.g. "__proto__"). */
  rawHeaders: string[];
  body: Buffer;
  /** When the answer was sent (after `delayMs`). */
  answeredAt?: number;
}

export interface SinkReply {
  status: number;
  /** Hold the answer this long: an attempt that stays in flight. */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A real HTTP destination for tests: records every request and answers with what `reply` says for it
 * (200 "ok" by default), so tests can assert exactly what a receiver sees.
 */
export class Sink {
  readonly received: ReceivedRequest[] = [];
  private readonly server: http.Server;
  private waiters: { path: string; count: number; resolve: () => void }[] = [];
  reply: (request: ReceivedRequest, countForPath: number) => SinkReply = () => ({ status: 200, body: "ok" });

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const request: ReceivedRequest = {
          at: Date.now(),
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks),
        };
        this.received.push(request);
        const answer = this.reply(request, this.at(request.path).length);
        const respond = (): void => {
          request.answeredAt = Date.now();
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? "");
        };
        if (answer.delayMs) setTimeout(respond, answer.delayMs);
        else respond();
        this.notify();
      });
    });
  }

  /** Listens on `host` (`::` takes IPv4 and IPv6 on every interface) and `port` (0: a free one). */
  static async start(host = "127.0.0.1", port = 0): Promise<Sink> {
    const sink = new Sink();
    await sink.listen(host, port);
    return sink;
  }

  /** One sink for a test file: listening before its first test, closed after its last. */
  static forSuite(): Sink {
    const sink = new Sink();
    beforeAll(() => sink.listen("127.0.0.1", 0));
    afterAll(() => sink.close());
    return sink;
  }

  private listen(host: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, resolve);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The sink's URL by its address (127.0.0.1 when it listens on every interface). */
  get url(): string {
    const { address } = this.server.address() as AddressInfo;
    const host = address === "::" || address === "0.0.0.0" ? "127.0.0.1" : address;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
  }

  at(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Resolves once `count` requests arrived at `path` (rejects after `timeoutMs`). */
  waitFor(path: string, count = 1, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${count} request(s) at ${path}; got ${this.at(path).length}`)),
        timeoutMs,
      );
      const check = (): void => {
        clearTimeout(timer);
        resolve(this.at(path));
      };
      if (this.at(path).length >= count) return check();
      this.waiters.push({ path, count, resolve: check });
    });
  }

  /** The most requests to `prefix` that were in flight at the same time. */
  maxInFlight(prefix: string): number {
    const edges = this.received
      .filter((r) => r.path.startsWith(prefix))
      .flatMap((r) => [
        [r.at, 1],
        [r.answeredAt ?? Number.POSITIVE_INFINITY, -1],
      ])
      .sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
    let current = 0;
    let max = 0;
    for (const [, delta] of edges) max = Math.max(max, (current += delta as number));
    return max;
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.at(w.path).length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
