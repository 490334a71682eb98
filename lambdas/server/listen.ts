import http from "node:http";
import type { Duplex } from "node:stream";

/**
 * Options for both local servers: Herald does not use `Host`, so a request without one is answered by
 * the API rather than by Node's bare 400.
 */
export const SERVER_OPTIONS: http.ServerOptions = { requireHostHeader: false };

/**
 * Starts listening, and answers what Node would otherwise answer itself, before any handler runs, with a
 * JSON body in the caller's error shape: a header block over 16 KiB, a malformed request, an `Expect`
 * other than 100-continue, a CONNECT.
 */
export async function listen(
  server: http.Server,
  port: number,
  host: string,
  errorBody: (status: number, message: string) => Record<string, string>,
): Promise<void> {
  const answer = (socket: Duplex, status: number, message: string): void => {
    const payload = JSON.stringify(errorBody(status, message));
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  };
  // The latest request on each connection. A parse error inside its body, after it was answered (an
  // early 413), must not add a second answer; one in the next request of a kept-alive connection gets its own.
  const latest = new WeakMap<Duplex, { req: http.IncomingMessage; res: http.ServerResponse }>();
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => latest.set(req.socket, { req, res }));
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const last = latest.get(socket);
    if (!socket.writable || (last && last.res.headersSent && !last.req.complete)) return socket.destroy();
    if (error.code === "HPE_HEADER_OVERFLOW") answer(socket, 431, "request headers too large");
    else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") answer(socket, 408, "request not received in time");
    else answer(socket, 400, "malformed HTTP request");
  });
  server.on("checkExpectation", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const payload = JSON.stringify(errorBody(417, "unsupported Expect header: only 100-continue is"));
    res.writeHead(417, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
    res.end(payload);
  });
  // A CONNECT's socket leaves Node's HTTP handling: closed here once answered, or it would stay open
  // (paused, never seeing the client's FIN) and hold up server.close() for good.
  server.on("connect", (_req: http.IncomingMessage, socket: Duplex) => {
    socket.once("finish", () => socket.destroy());
    answer(socket, 405, "method CONNECT not allowed");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
}
