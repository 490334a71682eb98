// The API Lambda: API Gateway HTTP API -> the shared routes -> JSON response.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { fromApiGatewayEvent, loggableEvent, toApiGatewayResponse } from "../adapters/aws/api-gateway.ts";
import { handleApiRequest } from "../api/router.ts";
import { awsContext } from "./aws-context.ts";
import { flushMetrics, logError, logger, metrics } from "./observability.ts";

async function handleApi(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const { context, store } = awsContext();
  if (logger.getLogEvent()) logger.info("Lambda invocation event", { event: loggableEvent(event) });
  const request = fromApiGatewayEvent(event);
  const response = await handleApiRequest(context, request, logError);
  await store.flushEvents().catch((error: unknown) => logError("log events kept for the next flush", error));
  if (request.method === "POST" && /^\/v2\/(publish|enqueue|batch)\b/i.test(request.path) && response.status < 300) {
    const accepted = [response.body].flat(2) as { deduplicated?: boolean }[];
    const published = accepted.filter((r) => r && !r.deduplicated).length;
    if (published > 0) metrics.addMetric("Published", MetricUnit.Count, published);
  }
  if (response.status >= 400 && response.status < 500) metrics.addMetric("ClientErrors", MetricUnit.Count, 1);
  return toApiGatewayResponse(response);
}

// Powertools' own event logging (POWERTOOLS_LOGGER_LOG_EVENT) would print the token: handleApi logs the
// event itself, redacted.
export const handler = middy(handleApi)
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(flushMetrics());
