import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { REDACTED, redactHeaders, redactQuery } from "../../api/auth.ts";
import type { ApiRequest, ApiResponse } from "../../api/http.ts";

/**
 * An API Gateway HTTP API (payload 2.0) event as the shared routes want it. `rawPath` arrives with `//`
 * collapsed (`/v2/publish/https:/x.com`), which destination parsing repairs; `rawQueryString` is the
 * destination's own query. Header names are already lower-case; repeated headers are comma-joined.
 */
export function fromApiGatewayEvent(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(event.headers ?? {}).flatMap(([name, value]) =>
      value === undefined ? [] : [[name.toLowerCase(), value]],
    ),
  );
  const body =
    event.body === undefined ? new Uint8Array(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    rawQuery: event.rawQueryString ?? "",
    headers,
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    sourceIp: event.requestContext.http.sourceIp,
  };
}

/** The event minus the credentials it carries, for POWERTOOLS_LOGGER_LOG_EVENT. */
export function loggableEvent(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const query = event.queryStringParameters;
  return {
    ...event,
    headers: redactHeaders(event.headers ?? {}),
    rawQueryString: redactQuery(event.rawQueryString ?? ""),
    ...(query && {
      queryStringParameters: Object.fromEntries(
        Object.entries(query).map(([name, value]) => [name, name.toLowerCase() === "qstash_token" ? REDACTED : value]),
      ),
    }),
    ...(event.cookies && { cookies: event.cookies.map(() => REDACTED) }),
  };
}

export function toApiGatewayResponse(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  if (response.raw) {
    // Base64 carries any bytes (a gzipped file) through API Gateway unchanged.
    const { headers, body } = response.raw;
    return {
      statusCode: response.status,
      headers,
      body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("base64"),
      isBase64Encoded: true,
    };
  }
  return {
    statusCode: response.status,
    headers: { "content-type": "application/json" },
    body: response.body === undefined ? "" : JSON.stringify(response.body),
  };
}
