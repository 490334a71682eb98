import { badRequest, clip } from "./errors.ts";

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const GROUP = /(\d+)([dhms])/gy;

/**
 * Parses a QStash duration: one or more `<integer><unit>` groups with units d/h/m/s (`10s`, `1d10h30m`).
 * A bare integer means seconds (what curl users type). Returns whole seconds.
 */
export function parseDuration(raw: string, what: string): number {
  const text = raw.trim().toLowerCase();
  if (/^\d{1,12}$/.test(text)) return Number(text);
  if (text.length === 0 || text.length > 64) throw badRequest(`invalid ${what}: "${clip(raw)}"`);
  GROUP.lastIndex = 0;
  let seconds = 0;
  let consumed = 0;
  for (let m = GROUP.exec(text); m; m = GROUP.exec(text)) {
    seconds += Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
    consumed = GROUP.lastIndex;
  }
  if (consumed !== text.length || !Number.isSafeInteger(seconds)) {
    throw badRequest(`invalid ${what}: "${clip(raw)}", use groups like 10s, 5m, 2h, 1d`);
  }
  return seconds;
}
