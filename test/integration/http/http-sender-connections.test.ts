// NodeHttpSender's connections against raw TCP servers that behave as real destinations do: one that closes
// idle kept-alive connections without saying so (gunicorn closes after 2 s, many proxies after a few), one
// that drops a connection before answering, and one that answers with hop-by-hop headers.
import net from "node:net";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeHttpSender } from "../../../lambdas/adapters/http/http-sender.ts";
import { ANY_DESTINATION } from "../../../lambdas/core/destination-policy.ts";
import type { OutgoingRequest } from "../../../lambdas/ports.ts";

/**
 * Answers 200 and closes a connection 200 ms after its last answer, unannounced and whole (as Node's
 * keepAliveTimeout and gunicorn do: what arrives later is not read). It runs in a worker thread
 * so that it keeps running (and closing) while the test freezes the main thread, as Lambda freezes a
 * container between invocations. It reports how many requests it read.
 */
const IDLE_CLOSING_SERVER = `
const net = require("node:net");
const { parentPort } = require("node:worker_threads");
let requests = 0;
const server = net.createServer((socket) => {
  let idle;
  let pending = "";
  socket.on("data", (chunk) => {
    pending += chunk.toString("latin1");
    while (pending.includes("\\r\\n\\r\\n")) {
      const end = pending.indexOf("\\r\\n\\r\\n") + 4;
      const length = Number(/content-length: *(\\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length < end + length) return;
      pending = pending.slice(end + length);
      requests += 1;
      socket.write("HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: keep-alive\\r\\n\\r\\nok");
      clearTimeout(idle);
      idle = setTimeout(() => socket.destroy(), 200);
    }
  });
  socket.on("error", () => {});
});
parentPort.on("message", () => parentPort.postMessage({ requests }));
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
`;

const post = (url: string): OutgoingRequest => ({
  url,
  method: "POST",
  headers: {},
  body: new TextEncoder().encode("x"),
  timeoutMs: 5000,
});

/** Blocks the event loop, as a frozen Lambda does: what the peer does meanwhile is seen only afterwards. */
const freeze = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe("a kept-alive connection the destination closed while Herald was frozen", () => {
  let worker: Worker;
  let port = 0;
  const requestsRead = async (): Promise<number> => {
    const answer = new Promise<{ requests: number }>((resolve) => worker.once("message", resolve));
    worker.postMessage("count");
    return (await answer).requests;
  };
  beforeAll(async () => {
    worker = new Worker(IDLE_CLOSING_SERVER, { eval: true });
    port = await new Promise<number>((resolve) => worker.once("message", (m: { port: number }) => resolve(m.port)));
  });
  afterAll(() => worker.terminate());

  it("does not fail the next attempt: it is sent again on a new connection, and read once", async () => {
    const sender = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
    try {
      const url = `http://127.0.0.1:${port}/hook`;
      expect(await sender.send(post(url))).toMatchObject({ kind: "response", status: 200 });
      // Longer than the server's idle close: its FIN arrives while nothing here runs.
      freeze(600);
      expect(await sender.send(post(url))).toMatchObject({ kind: "response", status: 200 });
      expect(await requestsRead()).toBe(2);
    } finally {
      sender.close();
    }
  });
});

describe("connections that fail or answer with hop-by-hop headers", () => {
  const servers: net.Server[] = [];
  const listen = async (onSocket: (socket: net.Socket) => void): Promise<string> => {
    const server = net.createServer(onSocket);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`;
  };
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it("fails an attempt whose new connection is reset before an answer, without sending it again", async () => {
    let connections = 0;
    const url = await listen((socket) => {
      connections += 1;
      socket.once("data", () => socket.resetAndDestroy());
    });
    const sender = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
    try {
      const outcome = await sender.send(post(url));
      expect(outcome).toMatchObject({ kind: "error", error: expect.stringMatching(/^request failed: /) });
      expect(connections).toBe(1);
    } finally {
      sender.close();
    }
  });

  it("does not send a timed-out attempt again, though its reused connection ends in a reset", async () => {
    const bodies: string[] = [];
    const url = await listen((socket) => {
      socket.on("data", (chunk) => {
        const body = chunk.toString().split("\r\n\r\n")[1] ?? "";
        bodies.push(body);
        // The first request is answered (the connection is kept), the second never; the witness is.
        if (body !== "slow") socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
      socket.on("error", () => undefined);
    });
    const sender = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
    const request = (body: string, timeoutMs: number): OutgoingRequest => ({
      ...post(url),
      body: new TextEncoder().encode(body),
      timeoutMs,
    });
    try {
      expect(await sender.send(request("first", 3000))).toMatchObject({ kind: "response", status: 200 });
      expect(await sender.send(request("slow", 300))).toEqual({ kind: "error", error: "timed out after 300 ms" });
      // Two requests after the timeout, each on a new connection and one after the other: a resend, begun
      // when the timed-out connection closed (before the first was answered), reached the server first.
      for (const _ of [1, 2]) {
        const witness = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
        try {
          expect(await witness.send(request("witness", 3000))).toMatchObject({ kind: "response", status: 200 });
        } finally {
          witness.close();
        }
      }
      expect(bodies).toEqual(["first", "slow", "witness", "witness"]);
    } finally {
      sender.close();
    }
  });

  it("reports the response's own headers, not those about the connection (RFC 9110 §7.6.1)", async () => {
    const url = await listen((socket) => {
      socket.once("data", () =>
        socket.end(
          "HTTP/1.1 200 OK\r\nX-App: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" +
            "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ),
      );
    });
    const sender = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
    try {
      const outcome = await sender.send(post(url));
      expect(outcome).toMatchObject({ kind: "response", status: 200 });
      if (outcome.kind !== "response") return;
      expect(outcome.header).toEqual({ "X-App": ["1"], "Content-Type": ["text/plain"] });
      expect(Buffer.from(outcome.body).toString()).toBe("ok");
    } finally {
      sender.close();
    }
  });
});
