import type { HeraldConfig } from "./config.ts";
import { assertHttpUrl } from "./destination.ts";
import { assertDestinationAllowed } from "./destination-policy.ts";
import { parseDuration } from "./duration.ts";
import { badRequest, clip } from "./errors.ts";
import { addHeader, isSendableHeader, type HeaderMap, type IncomingHeaders } from "./headers.ts";
import { HTTP_METHODS, type CallbackSettings, type HttpMethod, type Message } from "./message.ts";
import { compileRetryDelay } from "./retry-delay.ts";
import { parseFlowControl } from "./flow-control.ts";
import { parseRedactFields } from "./redact.ts";

/** Everything a publish request says about its message(s), read from Upstash-* headers (docs/qstash-api.md §5). */
export type PublishOptions = Pick<
  Message,
  | "method"
  | "header"
  | "maxRetries"
  | "retryDelayExpression"
  | "timeoutSec"
  | "callback"
  | "failureCallback"
  | "labels"
  | "notBefore"
  | "flowControl"
  | "redact"
>;

const FORWARD = "upstash-forward-";
const CALLBACK_FORWARD = "upstash-callback-forward-";
const FAILURE_CALLBACK_FORWARD = "upstash-failure-callback-forward-";
const CALLBACK_WORKFLOW = "upstash-callback-workflow-";
const FAILURE_CALLBACK_WORKFLOW = "upstash-failure-callback-workflow-";

// Headers that describe a connection, not a message: never forwarded, whether named with
// Upstash-Forward-* or passed through by `Upstash-Header-Forward: true` (which also keeps Herald's own
// token and cookies back). Content-Length and Host are set by the delivery itself.
const CONNECTION_HEADERS = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "proxy-connection",
]);
const NOT_PASSED_THROUGH = new Set(["authorization", "proxy-authorization", "cookie", "accept-encoding"]);

/**
 * Reads the message configuration from request headers (lower-case names). `queryConfig` holds
 * `upstash-*` parameters given in the query string by webhook senders; headers win over them.
 * Unknown `Upstash-*` headers are ignored; malformed known ones are a 400.
 */
export function parsePublishOptions(
  headers: IncomingHeaders,
  nowMs: number,
  config: HeraldConfig,
  queryConfig: Record<string, string> = {},
): PublishOptions {
  const get = (name: string): string | undefined => headers[name] ?? queryConfig[name];

  const header: HeaderMap = {};
  const callbackHeader: HeaderMap = {};
  const failureCallbackHeader: HeaderMap = {};
  const forwardAll = get("upstash-header-forward")?.trim().toLowerCase() === "true";
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(CALLBACK_FORWARD)) addForwarded(callbackHeader, name.slice(CALLBACK_FORWARD.length), value);
    else if (name.startsWith(FAILURE_CALLBACK_FORWARD))
      addForwarded(failureCallbackHeader, name.slice(FAILURE_CALLBACK_FORWARD.length), value);
    else if (name.startsWith(FORWARD)) addForwarded(header, name.slice(FORWARD.length), value);
    // A workflow's context.call names the run its callback belongs to, and a trigger the run its failure
    // callback reports on: `Upstash-Callback-Workflow-RunId` is sent as `Upstash-Workflow-RunId` (docs/workflows.md).
    else if (name.startsWith(CALLBACK_WORKFLOW))
      addForwarded(callbackHeader, `upstash-workflow-${name.slice(CALLBACK_WORKFLOW.length)}`, value);
    else if (name.startsWith(FAILURE_CALLBACK_WORKFLOW))
      addForwarded(failureCallbackHeader, `upstash-workflow-${name.slice(FAILURE_CALLBACK_WORKFLOW.length)}`, value);
    else if (forwardAll && name !== "content-type" && !name.startsWith("upstash-") && !NOT_PASSED_THROUGH.has(name)) {
      addForwarded(header, name, value);
    }
  }
  // Content-Type has one value: the request's own wins over a forwarded one.
  const contentType = headers["content-type"];
  if (contentType !== undefined) {
    assertSendable("content-type", contentType);
    for (const key of Object.keys(header)) if (key.toLowerCase() === "content-type") delete header[key];
    addHeader(header, "content-type", contentType);
  }

  const maxRetries = parseRetries(get("upstash-retries"), "Upstash-Retries", config) ?? config.defaultRetries;
  const retryDelayExpression = parseRetryDelay(get("upstash-retry-delay"));
  const timeoutSec = parseTimeout(get("upstash-timeout"), "Upstash-Timeout", config);

  const options: PublishOptions = {
    method: parseMethod(get("upstash-method"), "Upstash-Method") ?? "POST",
    header,
    maxRetries,
    labels: parseLabels(get("upstash-label")),
    notBefore: parseNotBefore(get("upstash-not-before"), get("upstash-delay"), nowMs, config),
  };
  if (retryDelayExpression !== undefined) options.retryDelayExpression = retryDelayExpression;
  const flowControl = parseFlowControl(get("upstash-flow-control-key"), get("upstash-flow-control-value"));
  if (flowControl) options.flowControl = flowControl;
  if (timeoutSec !== undefined) options.timeoutSec = timeoutSec;
  const redact = parseRedactFields(get("upstash-redact-fields"));
  if (redact) options.redact = redact;
  const callback = parseCallback(get, CALLBACK_HEADERS, "Upstash-Callback", callbackHeader, config);
  if (callback) options.callback = callback;
  const failureCallback = parseCallback(
    get,
    FAILURE_CALLBACK_HEADERS,
    "Upstash-Failure-Callback",
    failureCallbackHeader,
    config,
  );
  if (failureCallback) options.failureCallback = failureCallback;
  return options;
}

function addForwarded(map: HeaderMap, name: string, value: string): void {
  if (name === "" || CONNECTION_HEADERS.has(name.toLowerCase())) return;
  assertSendable(name, value);
  addHeader(map, name, value);
}

/**
 * A header that could not be sent would fail every delivery attempt inside Herald. HTTP requests cannot
 * carry one, but a batch entry's JSON can (control characters, emoji, a space in a name).
 */
function assertSendable(name: string, value: string): void {
  if (!isSendableHeader(name, value)) {
    throw badRequest(
      `invalid header "${clip(name)}": names are tokens, values hold no control or non-Latin-1 characters`,
    );
  }
}

function parseMethod(raw: string | undefined, what: string): HttpMethod | undefined {
  if (raw === undefined) return undefined;
  const method = raw.trim().toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw badRequest(`invalid ${what}: "${clip(raw)}", use one of ${HTTP_METHODS.join(", ")}`);
  }
  return method as HttpMethod;
}

function parseRetries(raw: string | undefined, what: string, config: HeraldConfig): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!/^\d{1,6}$/.test(text)) throw badRequest(`invalid ${what}: "${clip(raw)}" is not a non-negative integer`);
  const retries = Number(text);
  if (retries > config.maxRetries) throw badRequest(`invalid ${what}: at most ${config.maxRetries} retries allowed`);
  return retries;
}

function parseRetryDelay(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const expression = raw.trim();
  compileRetryDelay(expression); // validates; 400 on a malformed expression
  return expression;
}

function parseTimeout(raw: string | undefined, what: string, config: HeraldConfig): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = parseDuration(raw, what);
  if (seconds < 1) throw badRequest(`invalid ${what}: must be at least 1s`);
  if (seconds > config.maxTimeoutSec) throw badRequest(`invalid ${what}: at most ${config.maxTimeoutSec}s allowed`);
  return seconds;
}

function parseDelay(raw: string | undefined, what: string, config: HeraldConfig): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = parseDuration(raw, what);
  if (seconds > config.maxDelaySec) throw badRequest(`invalid ${what}: at most ${config.maxDelaySec}s allowed`);
  return seconds;
}

function parseNotBefore(
  rawNotBefore: string | undefined,
  rawDelay: string | undefined,
  nowMs: number,
  config: HeraldConfig,
): number {
  if (rawNotBefore !== undefined) {
    const text = rawNotBefore.trim();
    if (!/^\d{1,12}$/.test(text)) {
      throw badRequest(`invalid Upstash-Not-Before: "${clip(rawNotBefore)}" is not a unix timestamp in seconds`);
    }
    const ms = Number(text) * 1000;
    if (ms - nowMs > config.maxDelaySec * 1000) {
      throw badRequest(`invalid Upstash-Not-Before: at most ${config.maxDelaySec}s in the future allowed`);
    }
    return Math.max(ms, nowMs);
  }
  const delaySec = parseDelay(rawDelay, "Upstash-Delay", config);
  return nowMs + (delaySec ?? 0) * 1000;
}

function parseLabels(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const labels = raw
    .split(",")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  for (const label of labels) {
    if (label.length > 128) throw badRequest(`invalid Upstash-Label: "${clip(label)}" is longer than 128 characters`);
  }
  return labels;
}

// Header names built once: names made per request cost a string-table lookup on every header read.
const callbackHeaderNames = (prefix: string) =>
  ({
    url: prefix,
    method: `${prefix}-method`,
    retries: `${prefix}-retries`,
    retryDelay: `${prefix}-retry-delay`,
    timeout: `${prefix}-timeout`,
    delay: `${prefix}-delay`,
  }) as const;
const CALLBACK_HEADERS = callbackHeaderNames("upstash-callback");
const FAILURE_CALLBACK_HEADERS = callbackHeaderNames("upstash-failure-callback");

function parseCallback(
  get: (name: string) => string | undefined,
  names: ReturnType<typeof callbackHeaderNames>,
  display: string,
  header: HeaderMap,
  config: HeraldConfig,
): CallbackSettings | undefined {
  // The settings are checked even without a URL: a malformed header is a 400 wherever it appears.
  const settings: Omit<CallbackSettings, "url"> = { header };
  const method = parseMethod(get(names.method), `${display}-Method`);
  if (method) settings.method = method;
  const retries = parseRetries(get(names.retries), `${display}-Retries`, config);
  if (retries !== undefined) settings.retries = retries;
  const retryDelay = get(names.retryDelay);
  if (retryDelay !== undefined) {
    compileRetryDelay(retryDelay.trim());
    settings.retryDelayExpression = retryDelay.trim();
  }
  const timeoutSec = parseTimeout(get(names.timeout), `${display}-Timeout`, config);
  if (timeoutSec !== undefined) settings.timeoutSec = timeoutSec;
  const delaySec = parseDelay(get(names.delay), `${display}-Delay`, config);
  if (delaySec !== undefined) settings.delaySec = delaySec;
  const url = get(names.url)?.trim();
  if (url === undefined || url === "") return undefined;
  assertHttpUrl(url, display);
  assertDestinationAllowed(config.destinations, url, display);
  return { url, ...settings };
}
