import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
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

export function toApiGatewayResponse(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: response.status,
    headers: { "content-type": "application/json" },
    body: response.body === undefined ? "" : JSON.stringify(response.body),
  };
}
