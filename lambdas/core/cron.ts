// QStash schedules (`Upstash-Cron`): 5-field cron in UTC or `CRON_TZ=<zone>`, next firing times, and the
// translation to an EventBridge Scheduler expression. Validation is ours (strict: only what both croner and
// EventBridge can express); the calendar and DST arithmetic is croner's.
import { Cron } from "croner";
import { badRequest, clip } from "./errors.ts";

/** A parsed schedule. Plain data (safe to copy or log); the croner job is cached per object and rebuilt if needed. */
export interface CronSchedule {
  /** The value as stored and echoed: trimmed, whitespace collapsed, `CRON_TZ=` prefix kept, otherwise as sent. */
  readonly expression: string;
  /** IANA zone the fields are read in, as Intl spells it; "UTC" without `CRON_TZ=`. */
  readonly timezone: string;
  /** Canonical numeric pattern given to croner: `*` or an explicit list per field (names, ranges, macros expanded). */
  readonly pattern: string;
  readonly fields: CronFields;
}

/** Matching values per field, sorted and unique. */
interface CronFields {
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly dayOfMonth: readonly number[];
  readonly month: readonly number[];
  /** 0-6, Sunday = 0 (a 7 in the input is folded into 0). */
  readonly dayOfWeek: readonly number[];
  /** The field was `*` (or `*` with step 1): decides the day rule, see `dayRule`. */
  readonly dayOfMonthStar: boolean;
  readonly dayOfWeekStar: boolean;
}

export interface EventBridgeCron {
  /** `cron(minutes hours day-of-month month day-of-week year)`. */
  expression: string;
  timezone: string;
  /** false: the expression fires more often than the schedule; filter each firing with `firesAt`. */
  exact: boolean;
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Three-letter names; names[i] is the value min + i. */
  readonly names?: readonly string[];
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES },
];
// Longest days per month (February 29) to reject dates that never occur, such as `0 0 30 2 *`.
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// Macros are accepted as a convenience (they are plain 5-field crons); `@every` and `@reboot` are not.
const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const SYNTAX_HINT = "use *, numbers, names (JAN, MON), ranges a-b, lists a,b and steps */n, a-b/n or a/n";
const ITEM = /^(?:(\*)|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:\/(\d+))?$/i;
// Names that IANA/Intl know, but not offsets like "+05:00" (Intl takes them; EventBridge does not).
const ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
const MAX_LENGTH = 256;
const MINUTE_MS = 60_000;
// The range a Date can hold.
const MAX_DATE_MS = 8.64e15;

const jobs = new WeakMap<CronSchedule, Cron>();

/**
 * Parses a QStash cron: `minute hour day-of-month month day-of-week`, optionally prefixed by `CRON_TZ=<IANA zone> `.
 * Fields take `*`, numbers, JAN-DEC / SUN-SAT, ranges, lists and steps (`*\/n`, `a-b/n`, `a/n`); weekday 7 = Sunday.
 * Day rule as in Vixie cron: when both day fields are restricted (neither is `*`), a day matches if EITHER does.
 * Throws HttpError 400 on anything else (6 fields, `@every`, L, W, #, ?, out-of-range values, unknown zones).
 */
export function parseCron(raw: string): CronSchedule {
  const expression = raw.trim().replace(/\s+/g, " ");
  const invalid = (reason: string) => badRequest(`invalid Upstash-Cron "${clip(expression)}": ${reason}`);
  if (expression.length === 0) throw invalid("empty");
  if (expression.length > MAX_LENGTH) throw invalid(`longer than ${MAX_LENGTH} characters`);

  let timezone = "UTC";
  let rest = expression;
  if (rest.startsWith("CRON_TZ=")) {
    const space = rest.indexOf(" ");
    if (space < 0) throw invalid("CRON_TZ=<zone> must be followed by the cron fields");
    timezone = resolveZone(rest.slice("CRON_TZ=".length, space), invalid);
    rest = rest.slice(space + 1);
  }
  if (rest.startsWith("@")) {
    const macro = MACROS[rest.toLowerCase()];
    if (macro === undefined) throw invalid("supported macros are @yearly, @monthly, @weekly, @daily and @hourly");
    rest = macro;
  }

  const parts = rest.split(" ");
  if (parts.length !== FIELDS.length) {
    throw invalid(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const parsed = parts.map((text, i) => parseField(text, FIELDS[i] as FieldSpec, invalid));
  const [minute, hour, dom, month, dow] = parsed as [ParsedField, ParsedField, ParsedField, ParsedField, ParsedField];
  const dayOfWeek = [...new Set(dow.values.map((d) => d % 7))].sort((a, b) => a - b);
  const fields: CronFields = {
    minute: minute.values,
    hour: hour.values,
    dayOfMonth: dom.values,
    month: month.values,
    dayOfWeek,
    dayOfMonthStar: dom.star,
    dayOfWeekStar: dow.star,
  };
  // Only day-of-month can rule out every day; with a day-of-week that is restricted, the OR rule still fires.
  if (
    fields.dayOfWeekStar &&
    !fields.month.some((m) => (fields.dayOfMonth[0] as number) <= (MONTH_DAYS[m - 1] as number))
  ) {
    throw invalid("the day-of-month never occurs in the given month(s)");
  }

  const pattern = [minute, hour, dom, month, { ...dow, values: dayOfWeek }]
    .map((f) => (f.star ? "*" : f.values.join(",")))
    .join(" ");
  const schedule: CronSchedule = { expression, timezone, pattern, fields };
  try {
    jobs.set(schedule, newJob(pattern, timezone));
  } catch (error) {
    // Should not happen (we only accept what croner reads); keep it a client error if it does.
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  return schedule;
}

/** Epoch ms of the first firing strictly after `afterMs` (whole minutes); undefined if none (or a bad input). */
export function nextRunAfter(schedule: CronSchedule, afterMs: number): number | undefined {
  if (!Number.isFinite(afterMs) || Math.abs(afterMs) >= MAX_DATE_MS) return undefined;
  return jobOf(schedule).nextRun(new Date(afterMs))?.getTime();
}

/**
 * Epoch ms of the latest firings at or before `atOrBeforeMs`, newest first, at most `count` (fewer when
 * there are not as many). Each is checked with `firesAt`, so they agree with `nextRunAfter` on DST days.
 */
export function previousRuns(schedule: CronSchedule, atOrBeforeMs: number, count: number): number[] {
  if (!Number.isFinite(atOrBeforeMs) || Math.abs(atOrBeforeMs) >= MAX_DATE_MS) return [];
  return jobOf(schedule)
    .previousRuns(count, new Date(atOrBeforeMs + 1))
    .map((date) => date.getTime())
    .filter((ms) => firesAt(schedule, ms));
}

/**
 * Whether the minute that contains `ms` is a firing time. Defined through `nextRunAfter`, so it agrees with it
 * on DST days too (a fixed time in a spring-forward gap fires at the end of the gap; see `newJob`).
 */
export function firesAt(schedule: CronSchedule, ms: number): boolean {
  if (!Number.isFinite(ms)) return false;
  const minute = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  return nextRunAfter(schedule, minute - 1) === minute;
}

/**
 * The EventBridge Scheduler expression that fires this schedule (in `timezone`). EventBridge wants exactly one
 * of the day fields to be `?`, so the Vixie OR rule (both day fields restricted) has no exact form: we then fire
 * on every day (`*`, `?`) with the other fields kept, and `exact: false` tells the caller to filter with `firesAt`.
 * DST caveat: EventBridge skips times in a spring-forward gap where croner runs fixed-time jobs at the gap's end,
 * and it runs repeated fall-back times once where croner runs interval jobs twice.
 */
export function toEventBridgeCron(schedule: CronSchedule): EventBridgeCron {
  const { fields } = schedule;
  const [dom, dow, exact] = dayRule(fields);
  const [minutes, hours, month] = [
    awsList(fields.minute, 0, 59),
    awsList(fields.hour, 0, 23),
    awsList(fields.month, 1, 12),
  ];
  // At most ~250 characters (lists without runs of three are the longest), under EventBridge's 256.
  return { expression: `cron(${minutes} ${hours} ${dom} ${month} ${dow} *)`, timezone: schedule.timezone, exact };
}

/** [day-of-month, day-of-week, exact] for EventBridge; AWS days of week are 1-7 = SUN-SAT, we emit names. */
function dayRule(fields: CronFields): [string, string, boolean] {
  const allDays = fields.dayOfWeek.length === 7;
  const allDates = fields.dayOfMonth.length === 31;
  if (fields.dayOfWeekStar) return [awsList(fields.dayOfMonth, 1, 31), "?", true];
  if (fields.dayOfMonthStar) return allDays ? ["*", "?", true] : ["?", awsDays(fields.dayOfWeek), true];
  // Both restricted: OR. Exact only when one side already covers every day.
  return ["*", "?", allDays || allDates];
}

/** Shortest of `*`, `*\/n` / `a/n` (a progression running to the field's end), or a list with a-b runs. */
function awsList(values: readonly number[], min: number, max: number): string {
  if (values.length === max - min + 1) return "*";
  const list = runs(values, String);
  const [first, second] = values as [number, number | undefined];
  if (second === undefined) return list;
  const step = second - first;
  const progression =
    values.every((v, i) => v === first + i * step) && (values[values.length - 1] as number) + step > max;
  if (!progression) return list;
  const stepped = `${first === min ? "*" : first}/${step}`;
  return stepped.length < list.length ? stepped : list;
}

function awsDays(days: readonly number[]): string {
  return runs(days, (d) => DAY_NAMES[d] as string);
}

/** Comma list of sorted values, consecutive runs of three or more as `a-b`. */
function runs(values: readonly number[], show: (value: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] as number) + 1) j++;
    const [a, b] = [values[i] as number, values[j] as number];
    if (j - i >= 2) out.push(`${show(a)}-${show(b)}`);
    else for (let k = i; k <= j; k++) out.push(show(values[k] as number));
    i = j + 1;
  }
  return out.join(",");
}

interface ParsedField {
  values: number[];
  /** Contains `*` or `*\/1`: every value, and "unrestricted" for the day rule. */
  star: boolean;
}

function parseField(text: string, spec: FieldSpec, invalid: (reason: string) => Error): ParsedField {
  const bad = (reason: string) => invalid(`${spec.name} field "${clip(text, 40)}": ${reason}`);
  const values = new Set<number>();
  let star = false;
  for (const item of text.split(",")) {
    const m = ITEM.exec(item);
    if (!m) {
      const special = /[?#]/.test(item) ? "L, W, # and ? are not supported; " : "";
      throw bad(`${special}${SYNTAX_HINT}`);
    }
    const [, all, fromText, toText, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1 || step > spec.max - spec.min) throw bad(`step must be between 1 and ${spec.max - spec.min}`);
    let from = spec.min;
    let to = spec.max;
    if (all === undefined) {
      from = value(fromText as string, spec, false, bad);
      // `a/n` runs to the field's end (as in EventBridge and Go's robfig/cron): toEventBridgeCron emits it.
      const end = stepText === undefined ? from : spec.max;
      to = toText === undefined ? end : value(toText, spec, from > 0, bad);
      if (from > to) throw bad(`range ${fromText}-${toText} runs backwards`);
    } else if (step === 1) {
      star = true;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values: [...values].sort((a, b) => a - b), star };
}

/** A number or a three-letter name; SUN as the end of a range is 7 so that `FRI-SUN` works. */
function value(token: string, spec: FieldSpec, rangeEnd: boolean, bad: (reason: string) => Error): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (token.length > 2 || n < spec.min || n > spec.max) {
      throw bad(`${clip(token, 10)} is out of range ${spec.min}-${spec.max}`);
    }
    return n;
  }
  const index = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index < 0) {
    const special = /^(\d*L|LW|\d+W)$/i.test(token) ? "L, W, # and ? are not supported; " : "";
    throw bad(`${special}unknown value "${clip(token, 10)}", ${SYNTAX_HINT}`);
  }
  return spec.min + (rangeEnd && spec.names === DAY_NAMES && index === 0 ? 7 : index);
}

function resolveZone(zone: string, invalid: (reason: string) => Error): string {
  if (ZONE.test(zone) && zone.length <= 64) {
    try {
      return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    } catch {
      // falls through to the 400 below
    }
  }
  throw invalid(`unknown CRON_TZ time zone "${clip(zone, 40)}", use an IANA name such as America/New_York`);
}

/**
 * croner with the Vixie day rule (`domAndDow: false`: OR when both day fields are restricted; croner treats a
 * field as unrestricted only when it is literally `*`, which our canonical pattern guarantees) and its DST rules:
 * a job with a single minute and hour is fixed-time (a time in a spring-forward gap runs at the end of the gap,
 * a repeated fall-back time runs once, the first time); any other job skips gap times and runs repeats twice.
 */
function newJob(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, mode: "5-part", domAndDow: false });
}

function jobOf(schedule: CronSchedule): Cron {
  let job = jobs.get(schedule);
  if (job === undefined) {
    job = newJob(schedule.pattern, schedule.timezone);
    jobs.set(schedule, job);
  }
  return job;
}
