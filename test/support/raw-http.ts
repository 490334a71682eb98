import net from "node:net";

/** What came back on a raw connection: a parsed response, or none (the server closed without one). */
export interface RawResponse {
  status?: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Everything received, for failure messages. */
  raw: Buffer;
  /** The connection failed (reset, refused) rather than ended normally. */
  error?: string;
  /** The whole response arrived (by its Content-Length or last chunk). */
  complete?: boolean;
}

/**
 * Sends exact bytes over a fresh TCP connection and reads what comes back until the server closes it
 * (requests should carry `Connection: close`). fetch and node:http refuse much of what a fuzzer wants to
 * send: invalid UTF-8 in paths and headers, control characters, wrong framing.
 */
export function rawRequest(
  url: string,
  bytes: Buffer | Buffer[],
  options: { halfClose?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { halfClose = false, timeoutMs = 20_000 } = options;
  // A HEAD answer has headers only.
  const head = [bytes].flat()[0]?.subarray(0, 5).toString() === "HEAD ";
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let failure: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // A keep-alive answer (the request may say `Connection: keep-alive`) is complete before any close.
      if (parseResponse(Buffer.concat(chunks), undefined, head).complete) socket.destroy();
    });
    // A server that answers early (413) and closes may reset the connection while the body is still sent.
    socket.on("error", (error: NodeJS.ErrnoException) => (failure = error.code ?? error.message));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks), failure, head));
    });
    socket.on("connect", () => {
      for (const part of [bytes].flat()) socket.write(part);
      // Half-closing tells the server no more bytes come (an incomplete request then ends); Node's server
      // answers a half-closed connection with nothing, as most servers do, so complete requests keep it open.
      if (halfClose) socket.end();
    });
  });
}

function parseResponse(raw: Buffer, error: string | undefined, head: boolean): RawResponse {
  const response: RawResponse = { headers: {}, body: Buffer.alloc(0), raw, ...(error ? { error } : {}) };
  let start = 0;
  // Interim responses (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(start, start + 13).toString("latin1"))) {
    const end = raw.indexOf("\r\n\r\n", start);
    if (end < 0) return response;
    start = end + 4;
  }
  const headEnd = raw.indexOf("\r\n\r\n", start);
  if (headEnd < 0) return response;
  const [statusLine, ...lines] = raw.subarray(start, headEnd).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1];
  if (status) response.status = Number(status);
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) response.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = response.headers["content-length"];
  const rest = raw.subarray(headEnd + 4);
  if (head) {
    response.complete = true;
  } else if (response.headers["transfer-encoding"] === "chunked") {
    const { body, complete } = unchunk(rest);
    response.body = body;
    response.complete = complete;
  } else {
    response.body = length === undefined ? rest : rest.subarray(0, Number(length));
    response.complete = length !== undefined && rest.length >= Number(length);
  }
  return response;
}

function unchunk(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(data.subarray(at, lineEnd).toString(), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: data.length >= lineEnd + 4 };
    if (!(size > 0) || data.length < lineEnd + 2 + size) return { body: Buffer.concat(parts), complete: false };
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** One HTTP/1.1 request as bytes; `Host`, `Content-Length` and `Connection: close` are added unless given. */
export function requestBytes(
  method: string,
  target: string | Buffer,
  headers: [string | Buffer, string | Buffer][],
  body: Buffer = Buffer.alloc(0),
  options: { chunked?: boolean } = {},
): Buffer {
  const names = new Set(headers.map(([name]) => name.toString().toLowerCase()));
  const all = [...headers];
  if (!names.has("host")) all.push(["Host", "localhost"]);
  if (!names.has("connection")) all.push(["Connection", "close"]);
  if (options.chunked) all.push(["Transfer-Encoding", "chunked"]);
  else if (!names.has("content-length") && (body.length > 0 || method !== "GET")) {
    all.push(["Content-Length", String(body.length)]);
  }
  const head = Buffer.concat([
    Buffer.from(`${method} `),
    Buffer.from(target),
    Buffer.from(" HTTP/1.1\r\n"),
    ...all.flatMap(([name, value]) => [Buffer.from(name), Buffer.from(": "), Buffer.from(value), Buffer.from("\r\n")]),
    Buffer.from("\r\n"),
  ]);
  if (!options.chunked) return Buffer.concat([head, body]);
  const chunks: Buffer[] = [head];
  for (let i = 0; i < body.length; i += 4096) {
    const part = body.subarray(i, i + 4096);
    chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(chunks);
}
