// The API Lambda: API Gateway HTTP API -> the shared routes -> JSON response.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { fromApiGatewayEvent, loggableEvent, toApiGatewayResponse } from "../adapters/aws/api-gateway.ts";
import { handleApiRequest } from "../api/router.ts";
import { awsContext } from "./aws-context.ts";
import { flushMetrics, logError, logger, recordMetric } from "./observability.ts";

async function handleApi(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const { context, store } = awsContext();
  if (logger.getLogEvent()) logger.info("Lambda invocation event", { event: loggableEvent(event) });
  const request = fromApiGatewayEvent(event);
  const response = await handleApiRequest(context, request, logError);
  await store.flushEvents().catch((error: unknown) => logError("log events kept for the next flush", error));
  if (response.published) recordMetric("Published", response.published);
  if (response.status >= 400 && response.status < 500) recordMetric("ClientErrors", 1);
  return toApiGatewayResponse(response);
}

// Powertools' own event logging (POWERTOOLS_LOGGER_LOG_EVENT) would print the token: handleApi logs the
// event itself, redacted.
export const handler = middy(handleApi)
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(flushMetrics());
