import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { firesAt, nextRunAfter, parseCron, previousRuns, toEventBridgeCron } from "../../../lambdas/core/cron.ts";
import { httpErrorFrom, resultOrBadRequest } from "../../support/http-error.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface Spec {
  min: number;
  max: number;
  names?: string[];
}
const SPECS: Spec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 7, names: DAYS },
];

/** A generated field: its text and, computed here independently of the module, what it matches. */
interface Field {
  text: string;
  values: Set<number>;
  /** `*` or `*\/1`: unrestricted for the day rule. */
  star: boolean;
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
};

const anyCase = fc.constantFrom(
  (s: string) => s,
  (s: string) => s.toLowerCase(),
  (s: string) => s[0] + s.slice(1).toLowerCase(),
);

/** A value as a number or (month, day-of-week) a name; Sunday as 7 only by number, or SUN ending a range. */
function show(spec: Spec, value: number, rangeEndAfter?: number) {
  return fc.tuple(fc.boolean(), anyCase).map(([useName, cased]) => {
    if (!useName || !spec.names) return String(value);
    if (spec.names === DAYS && value === 7)
      return rangeEndAfter !== undefined && rangeEndAfter > 0 ? cased("SUN") : "7";
    return cased(spec.names[value - spec.min] as string);
  });
}

function item(spec: Spec): fc.Arbitrary<Field> {
  const value = fc.integer({ min: spec.min, max: spec.max });
  const step = fc.integer({ min: 1, max: spec.max - spec.min });
  return fc.oneof(
    fc.constant({ text: "*", values: new Set(range(spec.min, spec.max)), star: true }),
    step.map((n) => ({ text: `*/${n}`, values: new Set(range(spec.min, spec.max, n)), star: n === 1 })),
    value.chain((v) => show(spec, v).map((text) => ({ text, values: new Set([v]), star: false }))),
    fc
      .tuple(value, step)
      .chain(([from, n]) =>
        show(spec, from).map((a) => ({ text: `${a}/${n}`, values: new Set(range(from, spec.max, n)), star: false })),
      ),
    fc.tuple(value, value, fc.option(step)).chain(([x, y, n]) => {
      const [from, to] = x <= y ? [x, y] : [y, x];
      return fc.tuple(show(spec, from), show(spec, to, from)).map(([a, b]) => ({
        text: `${a}-${b}${n === null ? "" : `/${n}`}`,
        values: new Set(range(from, to, n ?? 1)),
        star: false,
      }));
    }),
  );
}

function field(spec: Spec): fc.Arbitrary<Field> {
  const list = fc.array(item(spec), { minLength: 1, maxLength: 3 }).map((items) => ({
    text: items.map((i) => i.text).join(","),
    values: new Set(items.flatMap((i) => [...i.values])),
    star: items.some((i) => i.star),
  }));
  // Mostly `*`, so that most expressions fire within the few days we look at.
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({ text: "*", values: new Set(range(spec.min, spec.max)), star: true }) },
    list,
  );
}

interface Generated {
  text: string;
  fields: Field[];
}

const space = fc.constantFrom(" ", "  ", "\t", " \t ");
const expressionArb: fc.Arbitrary<Generated> = fc
  .tuple(fc.tuple(...SPECS.map(field)), fc.array(space, { minLength: 6, maxLength: 6 }), fc.boolean())
  .map(([fields, gaps, padded]) => {
    const body = fields.map((f, i) => (i === 0 ? "" : gaps[i]) + f.text).join("");
    return { text: padded ? `${gaps[0]}${body}${gaps[5]}` : body, fields };
  });

/** The reference: does the UTC minute at `ms` match? Vixie day rule (OR only when both day fields are restricted). */
function referenceMatch(fields: Field[], ms: number): boolean {
  const [minute, hour, dom, month, dow] = fields as [Field, Field, Field, Field, Field];
  const d = new Date(ms);
  if (!minute.values.has(d.getUTCMinutes()) || !hour.values.has(d.getUTCHours())) return false;
  if (!month.values.has(d.getUTCMonth() + 1)) return false;
  const domMatch = dom.values.has(d.getUTCDate());
  const day = d.getUTCDay();
  const dowMatch = dow.values.has(day) || (day === 0 && dow.values.has(7));
  return dom.star || dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

/** Only day-of-month can make an expression never fire (parseCron rejects that). */
function neverOccurs(fields: Field[]): boolean {
  const [, , dom, month, dow] = fields as [Field, Field, Field, Field, Field];
  const first = Math.min(...dom.values);
  return dow.star && [...month.values].every((m) => first > (MONTH_DAYS[m - 1] as number));
}

const afterArb = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });

/** Evaluates an EventBridge `cron(...)` expression in UTC; asserts it only uses what EventBridge accepts. */
function awsMatcher(expression: string): (ms: number) => boolean {
  const parts = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression)?.slice(1);
  if (!parts) throw new Error(`not a cron(...) expression: ${expression}`);
  const [minuteText, hourText, domText, monthText, dowText, year] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  expect(year).toBe("*");
  expect([domText, dowText].filter((f) => f === "?")).toHaveLength(1);
  expect(dowText).not.toContain("/");
  const minutes = awsField(minuteText, 0, 59);
  const hours = awsField(hourText, 0, 23);
  const months = awsField(monthText, 1, 12, MONTHS);
  const doms = domText === "?" ? undefined : awsField(domText, 1, 31);
  const dows = dowText === "?" ? undefined : awsField(dowText, 1, 7, DAYS);
  return (ms) => {
    const d = new Date(ms);
    const day = doms ? doms.has(d.getUTCDate()) : (dows as Set<number>).has(d.getUTCDay() + 1);
    return minutes.has(d.getUTCMinutes()) && hours.has(d.getUTCHours()) && months.has(d.getUTCMonth() + 1) && day;
  };
}

/** AWS field: lists of `*`, `a`, `a-b`, `*\/n`, `a/n` (from a to the end); names map to min + index (SUN = 1). */
function awsField(text: string, min: number, max: number, names?: string[]): Set<number> {
  const toNumber = (token: string) => {
    const index = names?.indexOf(token) ?? -1;
    const n = index >= 0 ? min + index : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    expect(n >= min && n <= max, `${token} in ${text}`).toBe(true);
    return n;
  };
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|[A-Z0-9]+)(?:-([A-Z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad EventBridge field ${text}`);
    const [, start, end, step] = m;
    expect(end !== undefined && step !== undefined, `a-b/n is not used: ${text}`).toBe(false);
    const from = start === "*" ? min : toNumber(start as string);
    const to = end !== undefined ? toNumber(end) : start === "*" || step !== undefined ? max : from;
    for (const v of range(from, to, step === undefined ? 1 : Number(step))) values.add(v);
  }
  return values;
}

describe("parseCron (fuzz)", () => {
  it("returns a schedule or throws HttpError 400 for any string", () => {
    const cronish = fc.string({ unit: fc.constantFrom(..."0123456789*/-,  LW#?"), maxLength: 40 });
    const tokens = fc
      .array(
        fc.constantFrom(
          "*",
          "*/5",
          "0",
          "7",
          "60",
          "1-5",
          "5-1",
          "MON",
          "jan",
          "FRI-SUN",
          "L",
          "5#2",
          "?",
          "@daily",
          "@every",
          "CRON_TZ=Europe/Berlin",
          "CRON_TZ=Nope/Nope",
          "CRON_TZ=",
          "/",
          "-",
          ",",
        ),
        { maxLength: 8 },
      )
      .map((t) => t.join(" "));
    const text = fc.oneof(fc.string(), cronish, tokens, fc.string({ unit: "grapheme", maxLength: 30 }));
    fc.assert(
      fc.property(text, (raw) => {
        const result = resultOrBadRequest(() => parseCron(raw));
        if (result.ok) {
          expect(result.value.expression).toBe(raw.trim().replace(/\s+/g, " "));
          expect(nextRunAfter(result.value, Date.UTC(2026, 0, 1))).toBeGreaterThan(Date.UTC(2026, 0, 1));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("accepts every expression of the grammar, except days that never occur", () => {
    fc.assert(
      fc.property(expressionArb, ({ text, fields }) => {
        if (neverOccurs(fields)) {
          expect(httpErrorFrom(() => parseCron(text)).status).toBe(400);
          return;
        }
        const schedule = parseCron(text);
        expect(schedule.timezone).toBe("UTC");
        expect(schedule.expression).toBe(text.trim().replace(/\s+/g, " "));
      }),
      { numRuns: 500 },
    );
  });
});

describe("nextRunAfter (fuzz, UTC)", () => {
  it("returns the first matching minute strictly after the given time (checked over 3 days)", () => {
    fc.assert(
      fc.property(expressionArb, afterArb, ({ text, fields }, after) => {
        fc.pre(!neverOccurs(fields));
        const schedule = parseCron(text);
        const next = nextRunAfter(schedule, after);
        const horizon = after + 3 * DAY;
        const end = next === undefined ? horizon : Math.min(next, horizon);
        for (let ms = Math.floor(after / MINUTE) * MINUTE + MINUTE; ms < end; ms += MINUTE) {
          if (referenceMatch(fields, ms)) expect.fail(`${text}: missed ${new Date(ms).toISOString()}`);
        }
        if (next === undefined) return;
        expect(next).toBeGreaterThan(after);
        expect(next % MINUTE).toBe(0);
        expect(firesAt(schedule, next)).toBe(true);
        expect(firesAt(schedule, next + 59_999)).toBe(true);
        if (next <= horizon) expect(referenceMatch(fields, next)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("previousRuns (fuzz, UTC)", () => {
  it("returns the latest matching minutes at or before the given time, newest first (checked over 3 days)", () => {
    fc.assert(
      fc.property(expressionArb, afterArb, fc.integer({ min: 1, max: 4 }), ({ text, fields }, at, count) => {
        fc.pre(!neverOccurs(fields));
        const schedule = parseCron(text);
        const runs = previousRuns(schedule, at, count);
        const horizon = at - 3 * DAY;
        const expected: number[] = [];
        for (let ms = Math.floor(at / MINUTE) * MINUTE; ms > horizon && expected.length < count; ms -= MINUTE) {
          if (referenceMatch(fields, ms)) expected.push(ms);
        }
        // Beyond the horizon the reference is not walked: compare what it covers.
        expect(runs.slice(0, expected.length)).toEqual(expected);
        if (expected.length === count) expect(runs).toEqual(expected);
        for (const ms of runs) expect(nextRunAfter(schedule, ms - 1)).toBe(ms);
      }),
      { numRuns: 300 },
    );
  });
});

describe("toEventBridgeCron (fuzz, UTC)", () => {
  it("fires on every firing (superset), and on nothing else when exact", () => {
    fc.assert(
      fc.property(expressionArb, afterArb, ({ text, fields }, after) => {
        fc.pre(!neverOccurs(fields));
        const schedule = parseCron(text);
        const aws = toEventBridgeCron(schedule);
        expect(aws.timezone).toBe("UTC");
        expect(aws.expression.length).toBeLessThanOrEqual(256);
        const matches = awsMatcher(aws.expression);
        // The module's own firings (croner) over 2 days, at most 40 of them to keep it fast.
        const horizon = after + 2 * DAY;
        let next = nextRunAfter(schedule, after);
        for (let n = 0; next !== undefined && next <= horizon && n < 40; n++) {
          expect(matches(next), `${text} → ${aws.expression} at ${new Date(next).toISOString()}`).toBe(true);
          next = nextRunAfter(schedule, next);
        }
        // Every minute of the 2 days against the reference.
        const start = Math.floor(after / MINUTE) * MINUTE;
        for (let ms = start; ms < horizon; ms += MINUTE) {
          const expected = referenceMatch(fields, ms);
          const actual = matches(ms);
          if (expected && !actual) expect.fail(`${text} → ${aws.expression} misses ${new Date(ms).toISOString()}`);
          if (aws.exact && actual && !expected)
            expect.fail(`${text} → ${aws.expression} is not exact at ${new Date(ms).toISOString()}`);
        }
        // Not exact only for the OR rule (both day fields restricted).
        if (!aws.exact) expect(fields[2]?.star || fields[4]?.star).toBe(false);
        // The 5-field form of the AWS expression (? → *, year dropped; days of week are names) parses back.
        const back = parseCron(aws.expression.slice(5, -3).replaceAll("?", "*"));
        expect([back.fields.minute, back.fields.hour, back.fields.month]).toEqual([
          schedule.fields.minute,
          schedule.fields.hour,
          schedule.fields.month,
        ]);
      }),
      { numRuns: 150 },
    );
  });
});
