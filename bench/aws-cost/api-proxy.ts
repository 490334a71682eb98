// A counting proxy in front of the emulated API, for clients the bench does not drive through
// CostHarness.call (the workflow SDK's own requests): each request is passed on as it came and reported
// with its size and answer, so that API Gateway bills it like any other.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingProxy {
  url: string;
  close(): Promise<void>;
}

export async function startCountingProxy(
  target: string,
  onRequest: (method: string, url: string, requestBytes: number, status: number, responseBytes: number) => void,
): Promise<CountingProxy> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] as string;
        if (!["host", "connection", "content-length", "transfer-encoding"].includes(name.toLowerCase())) {
          headers.append(name, req.rawHeaders[i + 1] as string);
        }
      }
      const method = req.method ?? "GET";
      const response = await fetch(`${target}${req.url ?? "/"}`, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body }),
      });
      const answer = Buffer.from(await response.arrayBuffer());
      onRequest(method, req.url ?? "/", body.byteLength, response.status, answer.byteLength);
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (!["content-encoding", "content-length", "transfer-encoding", "connection"].includes(name)) {
          out[name] = value;
        }
      });
      res.writeHead(response.status, out);
      res.end(answer);
    })().catch((error: unknown) => {
      res.writeHead(502);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
