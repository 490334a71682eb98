import type { HeraldConfig } from "./config.ts";
import { getHeader, type HeaderMap } from "./headers.ts";
import { compileRetryDelay } from "./retry-delay.ts";

const DAY_MS = 86_400_000;

/** Default backoff before retry number n (1 for the first retry): min(1 day, e^(factor·n) s). */
export function defaultBackoffMs(retryNumber: number, factor: number): number {
  return Math.min(DAY_MS, Math.round(Math.exp(factor * retryNumber) * 1000));
}

// Go-style durations as sent in rate-limit headers, e.g. "6m5s", "1.5s", "250ms".
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const GO_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const HTTP_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const DIRECTIVE_HEADERS = [
  "Retry-After",
  "X-RateLimit-Reset",
  "X-RateLimit-Reset-Requests",
  "X-RateLimit-Reset-Tokens",
];

/**
 * A wait the destination asked for (docs/qstash-api.md §20): integer seconds, an HTTP date or a Go duration.
 * Values over one day are ignored (the normal backoff applies).
 */
export function destinationDirectedDelayMs(header: HeaderMap, nowMs: number): number | undefined {
  for (const name of DIRECTIVE_HEADERS) {
    const raw = getHeader(header, name)?.trim();
    if (!raw) continue;
    const ms = parseWait(raw, nowMs);
    if (ms !== undefined && ms >= 0 && ms <= DAY_MS) return ms;
  }
  return undefined;
}

function parseWait(raw: string, nowMs: number): number | undefined {
  if (/^\d{1,15}$/.test(raw)) return Number(raw) * 1000;
  if (GO_DURATION.test(raw)) {
    let ms = 0;
    for (const m of raw.matchAll(GO_PART)) ms += Number(m[1]) * (GO_UNIT_MS[m[2] as string] as number);
    return Math.round(ms);
  }
  // Only the HTTP date format (RFC 9110 IMF-fixdate): Date.parse alone would read "1.5" or "soon 5"
  // as a date in the past, i.e. "retry now".
  if (!HTTP_DATE.test(raw)) return undefined;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** How long to wait before the next attempt, after attempt `retried` (0-based) failed. */
export function retryDelayMs(
  options: { retryDelayExpression?: string },
  retried: number,
  responseHeader: HeaderMap | undefined,
  nowMs: number,
  config: HeraldConfig,
): number {
  const directed = responseHeader ? destinationDirectedDelayMs(responseHeader, nowMs) : undefined;
  if (directed !== undefined) return directed;
  if (options.retryDelayExpression !== undefined) {
    return Math.min(DAY_MS, Math.round(compileRetryDelay(options.retryDelayExpression)(retried)));
  }
  return defaultBackoffMs(retried + 1, config.backoffFactor);
}
