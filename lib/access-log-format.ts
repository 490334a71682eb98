/**
 * The API stage's access log: one JSON line per request, of HTTP API's own context variables (REST APIs'
 * `resourcePath`, `identity.caller` and `identity.user` do not exist for HTTP APIs):
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 * CloudWatch bills every byte of it ($0.50/GB, on every API request), so it holds what an operator needs
 * to find a request and tell who failed it, and no more: the request id (the client
 * got it back in `apigw-requestid`), caller, method, path, status, latency, and API Gateway's and the integration's errors.
 * Left out: the time (each log event has its own timestamp, Logs Insights' `@timestamp`), the response
 * length, the integration's status and latency (the Lambda's own logs and metrics have them), and the user
 * agent (the SDK's is Node's "node"; a browser's is 100 bytes and more).
 * The path holds the destination URL but never the query (where `qstash_token` may be).
 * Its own file: the test of the cost bench's access log line renders it without loading the CDK.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  path: "$context.path",
  status: "$context.status",
  latencyMs: "$context.responseLatency",
  error: "$context.error.message",
  integrationError: "$context.integrationErrorMessage",
});
