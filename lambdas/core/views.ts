// The JSON shapes clients read (docs/qstash-api.md §19). Field spellings follow the SDKs; where sources disagree
// both spellings are emitted.
import type { HeaderMap } from "./headers.ts";
import type { DlqEntry, LogEvent, Message } from "./message.ts";
import { redactMessage } from "./redact.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

/** `body` when the bytes are valid UTF-8, else `bodyBase64` (the naming QStash uses for both). */
function bodyFields(bytes: Uint8Array, textKey: string, base64Key: string): Record<string, string> {
  if (bytes.byteLength === 0) return {};
  try {
    return { [textKey]: utf8.decode(bytes) };
  } catch {
    return { [base64Key]: toBase64(bytes) };
  }
}

const nonEmpty = (map: HeaderMap | undefined): HeaderMap | undefined =>
  map && Object.keys(map).length > 0 ? map : undefined;

/** Drops undefined fields so optional fields are omitted, not null. */
function compact(record: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record;
}

function labelFields(labels: string[]): Record<string, unknown> {
  return labels.length > 0 ? { label: labels[0], labels } : {};
}

function flowControlFields(message: Message): Record<string, unknown> {
  const flow = message.flowControl;
  if (!flow) return {};
  return { flowControlKey: flow.key, parallelism: flow.parallelism, rate: flow.rate, period: flow.periodSec ?? 1 };
}

export function messageView(original: Message): Record<string, unknown> {
  const message = redactMessage(original);
  return compact({
    messageId: message.messageId,
    url: message.url,
    topicName: message.topicName,
    endpointName: message.endpointName,
    method: message.method,
    header: nonEmpty(message.header),
    ...bodyFields(message.body, "body", "bodyBase64"),
    maxRetries: message.maxRetries,
    notBefore: message.notBefore,
    createdAt: message.createdAt,
    callback: message.callback?.url,
    callbackHeader: nonEmpty(message.callback?.header),
    failureCallback: message.failureCallback?.url,
    failureCallbackHeader: nonEmpty(message.failureCallback?.header),
    queueName: message.queueName,
    scheduleId: message.scheduleId,
    callerIP: message.callerIp,
    ...labelFields(message.labels),
    ...flowControlFields(message),
    retryDelayExpression: message.retryDelayExpression,
    timeout: message.timeoutSec,
  });
}

export function dlqView(entry: DlqEntry): Record<string, unknown> {
  const response = entry.response;
  return compact({
    ...messageView(entry.message),
    dlqId: entry.dlqId,
    // A workflow step's run (the Workflow SDK's DLQMessage fields).
    ...(entry.message.workflow
      ? {
          workflowRunId: entry.message.workflow.runId,
          workflowUrl: entry.message.workflow.runUrl,
          workflowCreatedAt: entry.message.workflow.runCreatedAt,
        }
      : {}),
    responseStatus: response?.status ?? 0,
    responseHeader: nonEmpty(response?.header),
    ...(response ? bodyFields(response.body, "responseBody", "responseBodyBase64") : {}),
    error: entry.error,
  });
}

export function logEntryView(event: LogEvent, original: Message | undefined): Record<string, unknown> {
  const message = original && redactMessage(original);
  const response = event.response;
  const entry: Record<string, unknown> = {
    time: event.time,
    messageId: event.messageId,
    state: event.state,
    error: event.error,
    nextDeliveryTime: event.nextDeliveryTime,
    responseStatus: response?.status,
    responseHeaders: nonEmpty(response?.header),
    responseHeader: nonEmpty(response?.header),
    responseBody: response && response.body.byteLength > 0 ? toBase64(response.body) : undefined,
  };
  if (message) {
    Object.assign(entry, {
      url: message.url,
      topicName: message.topicName,
      endpointName: message.endpointName,
      scheduleId: message.scheduleId,
      queueName: message.queueName,
      method: message.method,
      header: nonEmpty(message.header),
      body: message.body.byteLength > 0 ? toBase64(message.body) : undefined,
      timeout: message.timeoutSec === undefined ? undefined : message.timeoutSec * 1000,
      callback: message.callback?.url,
      failureCallback: message.failureCallback?.url,
      callbackHeaders: nonEmpty(message.callback?.header),
      failureCallbackHeaders: nonEmpty(message.failureCallback?.header),
      maxRetries: message.maxRetries,
      retryDelayExpression: message.retryDelayExpression,
      retryDelayExpr: message.retryDelayExpression,
      callerIp: message.callerIp,
      ...labelFields(message.labels),
      ...flowControlFields(message),
    });
  }
  return compact(entry);
}
