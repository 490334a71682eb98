// Pure formatting (no DOM): unit-tested in node (test/unit/console-format.test.ts).

export interface FormattedTime {
  /** In the viewer's time zone (or `timeZone`). */
  local: string;
  /** The same instant in UTC, shown on hover. */
  utc: string;
  iso: string;
}

/** An epoch-ms time for people: local for reading, UTC for the tooltip, ISO for `<time datetime>`. */
export function formatTime(ms: number, locale?: string, timeZone?: string): FormattedTime {
  const date = new Date(ms);
  const options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "medium" };
  return {
    local: new Intl.DateTimeFormat(locale, timeZone ? { ...options, timeZone } : options).format(date),
    utc: `${new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(date)} UTC`,
    iso: date.toISOString(),
  };
}

/** Seconds as "1h 30m 5s" (schedules' delay and rate periods). */
export function formatSeconds(total: number): string {
  if (total <= 0) return "0s";
  const parts: string[] = [];
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  let rest = Math.round(total);
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

/** Base64 as text when it is UTF-8, else undefined (a binary body is shown by its size). */
export function decodeBase64Text(base64: string, options: { cutTail?: boolean } = {}): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
  try {
    // `stream` leaves out an incomplete last character, as of a body cut inside it.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: options.cutTail === true });
  } catch {
    return undefined;
  }
}

/** How many bytes a base64 text holds. */
const base64Bytes = (base64: string): number => Math.floor((base64.replace(/=+$/, "").length * 3) / 4);

/** A body as the API gives it (text in `body`, or base64 in `bodyBase64` / the logs' `body`) for display. */
export function bodyForDisplay(text: string | undefined, base64: string | undefined): string {
  if (text !== undefined) return text;
  if (base64 === undefined || base64 === "") return "";
  const decoded = decodeBase64Text(base64);
  if (decoded !== undefined) return decoded;
  return `(binary, ${base64Bytes(base64)} bytes)`;
}

/**
 * How much of a response body the log keeps on AWS (EVENT_RESPONSE_BYTES in lambdas/adapters/aws/log-pages.ts),
 * cut by bytes: possibly inside a character.
 */
export const LOGGED_RESPONSE_BYTES = 8 * 1024;

/**
 * A logged response body (base64) for display: a body cut inside its last character still reads as text,
 * and one at the log's limit says it may be only the start.
 */
export function loggedBodyForDisplay(base64: string): string {
  const text = decodeBase64Text(base64, { cutTail: true });
  if (text === undefined) return bodyForDisplay(undefined, base64);
  return base64Bytes(base64) === LOGGED_RESPONSE_BYTES ? `${text}\n… (the log keeps the first 8 KiB only)` : text;
}

/** A header map (`{Name: [values]}` or `{Name: value}`) as "Name: value" lines, sorted by name. */
export function headerLines(map: Record<string, string[] | string> | undefined): string[] {
  if (!map) return [];
  return Object.keys(map)
    .sort((a, b) => a.localeCompare(b))
    .flatMap((name) => [map[name] ?? []].flat().map((value) => `${name}: ${value}`));
}

/** Cuts long text for a table cell; the whole text stays available elsewhere. */
export function truncate(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
