import type http from "node:http";

/**
 * How much of an over-limit body is read and thrown away before its 413 is sent. A client still sending
 * when the connection closes fails with EPIPE or ECONNRESET before it reads the answer (Node's fetch
 * does), so the rest of the body is drained first — up to this bound, past which the answer is sent and
 * the connection closed at once: no client gets to stream an unbounded body into the server.
 */
export const MAX_DRAINED_BYTES = 32 * 1024 * 1024;

export type BodyOutcome =
  | { kind: "body"; body: Buffer }
  /** Over `limit`. `drained`: the whole body was read, so the answer reaches the client. */
  | { kind: "tooLarge"; drained: boolean }
  /** Failed or cut off by the client: nobody is left to answer. */
  | { kind: "gone" };

/**
 * Reads a request body of at most `limit` bytes. Over it (declared or as it arrives) the rest is read
 * and discarded up to MAX_DRAINED_BYTES in all, and the outcome says so; the caller answers with
 * `Connection: close` (and destroys the request when not `drained`). Plain events rather than an async
 * iterator: the iterator was a measurable part of a small publish.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyOutcome> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_DRAINED_BYTES) return Promise.resolve({ kind: "tooLarge", drained: false });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    let done = false;
    const finish = (outcome: BodyOutcome): void => {
      if (done) return;
      done = true;
      resolve(outcome);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (size > MAX_DRAINED_BYTES) {
        req.pause();
        return finish({ kind: "tooLarge", drained: false });
      }
      if (!tooLarge) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on("end", () =>
      finish(tooLarge ? { kind: "tooLarge", drained: true } : { kind: "body", body: Buffer.concat(chunks) }),
    );
    const fail = (): void => finish({ kind: "gone" });
    req.on("error", fail);
    req.on("close", fail); // closed before its end: the client went away mid-body
  });
}
