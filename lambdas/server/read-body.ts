import type http from "node:http";

/**
 * How much of an over-limit body is read and thrown away after its 413 was sent. A client still sending
 * when the connection closes fails with EPIPE or ECONNRESET before it reads the answer (Node's fetch
 * does), so the connection stays open while the rest of the body arrives — up to this bound, past which
 * it is closed: no client gets to stream an unbounded body into the server.
 */
export const MAX_DRAINED_BYTES = 32 * 1024 * 1024;

export type BodyOutcome =
  | { kind: "body"; body: Buffer }
  /**
   * Over `limit`: answer at once (a client that reads while it sends gets the answer without sending the
   * rest). `close`: the body is declared larger than MAX_DRAINED_BYTES, so answer with `Connection:
   * close`; otherwise the rest is drained in the background and the connection kept.
   */
  | { kind: "tooLarge"; close: boolean }
  /** Failed or cut off by the client: nobody is left to answer. */
  | { kind: "gone" };

/**
 * Reads a request body of at most `limit` bytes. Plain events rather than an async iterator: the iterator
 * was a measurable part of a small publish.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyOutcome> {
  const declared = Number(req.headers["content-length"] ?? 0);
  // The cap is on what is drained past the limit: a body within the limit is always read whole.
  const cap = Math.max(limit, MAX_DRAINED_BYTES);
  if (declared > cap) return Promise.resolve({ kind: "tooLarge", close: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (outcome: BodyOutcome): void => {
      if (done) return;
      done = true;
      resolve(outcome);
    };
    if (declared > limit) finish({ kind: "tooLarge", close: false });
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        req.socket.destroy(); // the answer went out long ago; no more is read
        return;
      }
      if (done) return; // draining
      if (size > limit) {
        chunks.length = 0;
        return finish({ kind: "tooLarge", close: false });
      }
      chunks.push(chunk);
    });
    req.on("end", () => finish({ kind: "body", body: Buffer.concat(chunks) }));
    const fail = (): void => finish({ kind: "gone" });
    req.on("error", fail);
    req.on("close", fail); // closed before its end: the client went away mid-body
  });
}
