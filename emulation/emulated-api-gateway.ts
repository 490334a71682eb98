// API Gateway's HTTP API (and a Lambda Function URL) as emulated AWS plays them: each real request becomes
// the payload-2.0 event the API Lambda receives, within the quotas AWS applies in front of it.
import type http from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { readBody } from "../lambdas/server/read-body.ts";
import { functionUrlRawPath, httpApiRawPath } from "./http-api-path.ts";

/**
 * API Gateway accepts 10 MB, but a Lambda takes at most 6 MB of event (the body is base64). A live capture
 * (koki-develop/lgtm-generator#10) shows both answers: over 10 MB a 413 with the text "HTTP content length
 * exceeded 10485760 bytes.", over Lambda's limit a 413 `{"message": "Request Too Long"}`.
 */
const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const LAMBDA_MAX_EVENT = 6 * 1024 * 1024;

/**
 * What stands in front of the API Lambda: how it hands over the path, the largest request it takes, and
 * the HTTP API quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
 * "Total combined size of request line and header values: 10240 bytes" and "Maximum integration
 * timeout: 30 seconds". The page gives no status for either; this stand-in answers 431 and 503 (HTTP's
 * own statuses for them) with API Gateway's `{"message": …}` body.
 */
export interface Front {
  rawPath(sent: string): string;
  maxBody: number;
  maxRequestLineAndHeaderValues?: number;
  integrationTimeoutMs?: number;
}
export const HTTP_API: Front = {
  rawPath: httpApiRawPath,
  maxBody: API_GATEWAY_MAX_BODY,
  maxRequestLineAndHeaderValues: 10_240,
  integrationTimeoutMs: 30_000,
};
/** A Function URL takes what its Lambda takes (6 MB of event); it keeps the path as sent. */
export const FUNCTION_URL: Front = { rawPath: functionUrlRawPath, maxBody: LAMBDA_MAX_EVENT };

/** Plays API Gateway (or a Function URL): reads the request, builds the payload-2.0 event, replies. */
export async function invokeApi(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  front: Front,
  invoke: (event: APIGatewayProxyEventV2) => Promise<unknown>,
): Promise<void> {
  if (front.maxRequestLineAndHeaderValues !== undefined) {
    let size = `${req.method} ${req.url} HTTP/${req.httpVersion}`.length;
    for (let i = 1; i < req.rawHeaders.length; i += 2) size += Buffer.byteLength(req.rawHeaders[i] as string);
    if (size > front.maxRequestLineAndHeaderValues) {
      res.writeHead(431, { "Content-Type": "application/json", Connection: "close" });
      res.end(JSON.stringify({ message: "Request Header Fields Too Large" }));
      return;
    }
  }
  const read = await readBody(req, front.maxBody);
  // The client went away mid-request ("aborted"): nobody is left to answer, and it must not throw.
  if (read.kind === "gone") return void res.destroy();
  if (read.kind === "tooLarge") {
    const close = read.close ? { Connection: "close" } : {};
    if (front.maxBody === LAMBDA_MAX_EVENT) {
      res.writeHead(413, { "Content-Type": "application/json", ...close });
      res.end(JSON.stringify({ message: "Request Too Long" }));
    } else {
      res.writeHead(413, { "Content-Type": "text; charset=utf-8", ...close });
      res.end(`HTTP content length exceeded ${API_GATEWAY_MAX_BODY} bytes.`);
    }
    return;
  }
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  const rawPath = front.rawPath(q < 0 ? raw : raw.slice(0, q));
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const body = read.body;
  if (Math.ceil(body.length / 3) * 4 > LAMBDA_MAX_EVENT) {
    res.writeHead(413, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ message: "Request Too Long" }));
    return;
  }
  const event = {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: q < 0 ? "" : raw.slice(q + 1),
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: req.headers.host ?? "localhost",
      domainPrefix: "local",
      http: {
        method: req.method ?? "GET",
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        userAgent: req.headers["user-agent"] ?? "",
      },
      requestId: crypto.randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: body.toString("base64"),
    isBase64Encoded: true,
  } as APIGatewayProxyEventV2;
  try {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      if (front.integrationTimeoutMs !== undefined)
        timer = setTimeout(() => resolve("timeout"), front.integrationTimeoutMs);
    });
    const answer = await Promise.race([invoke(event), timedOut]).finally(() => clearTimeout(timer));
    if (answer === "timeout") {
      res.writeHead(503, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ message: "Service Unavailable" }));
      return;
    }
    const result = answer as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
    };
    // "isBase64Encoded": API Gateway decodes the body before sending it (Lambda response format 2.0:
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? "");
    res.writeHead(result.statusCode, result.headers ?? {});
    res.end(body);
  } catch (error) {
    console.error("API handler failed", error);
    if (res.headersSent) return void res.destroy();
    res.writeHead(500, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ message: "Internal Server Error" }));
  }
}
