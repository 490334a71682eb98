import { callbackMessageId, failureCallbackMessageId } from "./ids.ts";
import type { AttemptResponse, CallbackSettings, Message } from "./message.ts";
import { redactionForCallback } from "./redact.ts";
import { toBase64 as base64 } from "./views.ts";

/**
 * The JSON a callback receives (docs/qstash-api.md §22). When the attempt got no response (connection error,
 * timeout) `status` is 0, `header` empty and `error` says what happened — QStash leaves this case open.
 */
export function callbackPayload(args: {
  source: Message;
  retried: number;
  response?: AttemptResponse;
  error?: string | undefined;
  dlqId?: string;
  /** Instead of the source's body: a workflow run's initial payload. */
  sourceBody?: Uint8Array;
}): Record<string, unknown> {
  const { source, response } = args;
  const payload: Record<string, unknown> = {
    status: response?.status ?? 0,
    header: response?.header ?? {},
    body: base64(response?.body ?? new Uint8Array()),
    retried: args.retried,
    maxRetries: source.maxRetries,
    sourceMessageId: source.messageId,
    url: source.url,
    method: source.method,
    sourceHeader: source.header,
    sourceBody: base64(args.sourceBody ?? source.body),
    notBefore: source.notBefore,
    createdAt: source.createdAt,
  };
  if (args.dlqId !== undefined) payload.dlqId = args.dlqId;
  if (args.error !== undefined) payload.error = args.error;
  if (source.topicName !== undefined) payload.topicName = source.topicName;
  if (source.endpointName !== undefined) payload.endpointName = source.endpointName;
  if (source.scheduleId !== undefined) payload.scheduleId = source.scheduleId;
  if (source.callerIp !== undefined) payload.callerIP = source.callerIp;
  if (source.workflow) {
    // What the workflow SDK's failure function reads (docs/workflows.md).
    payload.workflowRunId = source.workflow.runId;
    payload.workflowCreatedAt = source.workflow.runCreatedAt;
    payload.url = source.workflow.runUrl;
  }
  return payload;
}

/**
 * The message that carries a callback: an ordinary signed message to the callback URL, with the source
 * message's retry settings unless the callback's own (`Upstash-Callback-Retries` …) say otherwise.
 * Its id is derived from the source, so processing an attempt twice creates it once.
 */
export function callbackMessage(args: {
  kind: "callback" | "failureCallback";
  source: Message;
  settings: CallbackSettings;
  retried: number;
  response?: AttemptResponse;
  error?: string | undefined;
  dlqId?: string;
  sourceBody?: Uint8Array;
  nowMs: number;
}): Message {
  const { source, settings } = args;
  const message: Message = {
    messageId:
      args.kind === "callback"
        ? callbackMessageId(source.messageId, args.retried)
        : failureCallbackMessageId(source.messageId),
    url: settings.url,
    method: settings.method ?? "POST",
    header: { ...settings.header, "Content-Type": ["application/json"] },
    body: new TextEncoder().encode(JSON.stringify(callbackPayload(args))),
    maxRetries: settings.retries ?? source.maxRetries,
    labels: source.labels,
    notBefore: args.nowMs + (settings.delaySec ?? 0) * 1000,
    createdAt: args.nowMs,
    origin: {
      kind: args.kind,
      sourceMessageId: source.messageId,
      ...(source.queueName !== undefined ? { sourceQueued: true } : {}),
    },
  };
  const retryDelayExpression = settings.retryDelayExpression ?? source.retryDelayExpression;
  if (retryDelayExpression !== undefined) message.retryDelayExpression = retryDelayExpression;
  const timeoutSec = settings.timeoutSec ?? source.timeoutSec;
  if (timeoutSec !== undefined) message.timeoutSec = timeoutSec;
  if (source.callerIp !== undefined) message.callerIp = source.callerIp;
  const redact = redactionForCallback(source, settings.header);
  if (redact) message.redact = redact;
  return message;
}
