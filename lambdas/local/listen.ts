import http from "node:http";

/**
 * Starts listening, and answers requests Node rejects before any handler runs (a header block over
 * 16 KiB, a malformed request line) with a JSON body in the caller's error shape.
 */
export async function listen(
  server: http.Server,
  port: number,
  host: string,
  errorBody: (status: number) => Record<string, string>,
): Promise<void> {
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const payload = JSON.stringify(errorBody(status));
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
}
