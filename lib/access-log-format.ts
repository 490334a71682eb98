/**
 * The API stage's access log: one JSON line per request, of HTTP API's own context variables (REST APIs'
 * `resourcePath`, `identity.caller` and `identity.user` do not exist for HTTP APIs):
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 * The path holds the destination URL but never the query (where `qstash_token` may be).
 * Its own file so that the cost bench prices the very line the stack configures, without loading the CDK.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  time: "$context.requestTimeEpoch",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  path: "$context.path",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  integrationLatencyMs: "$context.integrationLatency",
  error: "$context.error.message",
  integrationError: "$context.integrationErrorMessage",
  userAgent: "$context.identity.userAgent",
});
