import { describe, expect, it } from "vitest";
import { firesAt, nextRunAfter, parseCron, toEventBridgeCron } from "../../../lambdas/core/cron.ts";
import { expectBadRequest } from "../../support/http-error.ts";

const at = (iso: string): number => Date.parse(iso);

/** The next `count` firings after `fromIso`, as ISO strings. */
function runs(raw: string, fromIso: string, count: number): string[] {
  const schedule = parseCron(raw);
  const out: string[] = [];
  let after = at(fromIso);
  for (let i = 0; i < count; i++) {
    const next = nextRunAfter(schedule, after);
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    after = next;
  }
  return out;
}

describe("parseCron", () => {
  it("trims and collapses whitespace, keeps the CRON_TZ prefix, defaults to UTC", () => {
    expect(parseCron("*/10 * * * * ")).toMatchObject({ expression: "*/10 * * * *", timezone: "UTC" });
    expect(parseCron("\t0  9\t* *   1-5\n").expression).toBe("0 9 * * 1-5");
    expect(parseCron("  CRON_TZ=America/New_York   0 9 * * 1-5 ")).toMatchObject({
      expression: "CRON_TZ=America/New_York 0 9 * * 1-5",
      timezone: "America/New_York",
    });
  });

  it("spells the zone the way Intl does", () => {
    expect(parseCron("CRON_TZ=europe/berlin 0 9 * * *").timezone).toBe("Europe/Berlin");
    expect(parseCron("CRON_TZ=UTC 0 9 * * *").timezone).toBe("UTC");
  });

  it("reads names case-insensitively, folds day-of-week 7 into Sunday", () => {
    const named = parseCron("0 0 * jan-Mar,dec Mon-fri");
    expect(named.fields.month).toEqual([1, 2, 3, 12]);
    expect(named.fields.dayOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(parseCron("0 0 * * 7").fields.dayOfWeek).toEqual([0]);
    expect(parseCron("0 0 * * 0,7").fields.dayOfWeek).toEqual([0]);
    expect(parseCron("0 0 * * 5-7").fields.dayOfWeek).toEqual([0, 5, 6]);
    expect(parseCron("0 0 * * FRI-SUN").fields.dayOfWeek).toEqual([0, 5, 6]);
    expect(parseCron("0 0 * * SUN-SAT").fields.dayOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("expands steps, ranges with steps and lists", () => {
    expect(parseCron("*/15 * * * *").fields.minute).toEqual([0, 15, 30, 45]);
    expect(parseCron("10-40/10 * * * *").fields.minute).toEqual([10, 20, 30, 40]);
    expect(parseCron("0 1-23/6,4 * * *").fields.hour).toEqual([1, 4, 7, 13, 19]);
    expect(parseCron("0 0 */10 * *").fields.dayOfMonth).toEqual([1, 11, 21, 31]);
    expect(parseCron("0 0 1 */4 *").fields.month).toEqual([1, 5, 9]);
    // a/n runs to the end of the field, as in EventBridge (whose expressions we emit in that form).
    expect(parseCron("5/20 * * * *").fields.minute).toEqual([5, 25, 45]);
    expect(parseCron("0 0 1 2/5 *").fields.month).toEqual([2, 7, 12]);
    expect(parseCron("0 0 * * MON/2").fields.dayOfWeek).toEqual([0, 1, 3, 5]);
  });

  it("treats only * (or */1) as an unrestricted day field", () => {
    expect(parseCron("0 0 * * 1").fields).toMatchObject({ dayOfMonthStar: true, dayOfWeekStar: false });
    expect(parseCron("0 0 */1 * 1").fields).toMatchObject({ dayOfMonthStar: true, dayOfWeekStar: false });
    expect(parseCron("0 0 1-31 * 1").fields).toMatchObject({ dayOfMonthStar: false, dayOfWeekStar: false });
    expect(parseCron("0 0 */2 * *").fields).toMatchObject({ dayOfMonthStar: false, dayOfWeekStar: true });
  });

  // Macros are plain 5-field crons; supported as a convenience.
  it.each([
    ["@yearly", "0 0 1 1 *"],
    ["@annually", "0 0 1 1 *"],
    ["@monthly", "0 0 1 * *"],
    ["@WEEKLY", "0 0 * * 0"],
    ["@daily", "0 0 * * *"],
    ["@midnight", "0 0 * * *"],
    ["@hourly", "0 * * * *"],
  ])("accepts the macro %s as %s", (macro, equivalent) => {
    expect(parseCron(macro).fields).toEqual(parseCron(equivalent).fields);
    expect(parseCron(macro).expression).toBe(macro);
    expect(parseCron(`CRON_TZ=Asia/Tokyo ${macro}`).timezone).toBe("Asia/Tokyo");
  });

  it.each([
    ["", "empty"],
    ["   ", "empty"],
    ["* * * *", "expected 5 fields"],
    ["0 * * * * *", "expected 5 fields"],
    ["0 0 * * * * 2026", "expected 5 fields"],
    ["@every 5m", "macros"],
    ["@reboot", "macros"],
    ["@daily 0", "macros"],
    ["60 * * * *", "minute", "out of range 0-59"],
    ["* 24 * * *", "hour", "out of range 0-23"],
    ["* * 0 * *", "day-of-month", "out of range 1-31"],
    ["* * 32 * *", "out of range 1-31"],
    ["* * * 0 *", "month", "out of range 1-12"],
    ["* * * 13 *", "out of range 1-12"],
    ["* * * * 8", "day-of-week", "out of range 0-7"],
    ["007 * * * *", "out of range"],
    ["*/0 * * * *", "step must be between 1 and 59"],
    ["*/60 * * * *", "step must be between 1 and 59"],
    ["5/0 * * * *", "step must be between 1 and 59"],
    ["0 0 * * 1/8", "step must be between 1 and 7"],
    ["10-5 * * * *", "runs backwards"],
    ["* * * * SAT-MON", "runs backwards"],
    ["-5 * * * *", "minute field"],
    ["1.5 * * * *", "minute field"],
    ["1,,2 * * * *", "minute field"],
    ["* * * FOO *", 'unknown value "FOO"'],
    ["* * * * MONDAY", "unknown value"],
    ["* * * * JAN", "day-of-week", "unknown value"],
    ["* * MON * *", "day-of-month", "unknown value"],
    ["* * L * *", "L, W, # and ? are not supported"],
    ["* * 15W * *", "L, W, # and ? are not supported"],
    ["* * LW * *", "L, W, # and ? are not supported"],
    ["* * * * 5L", "L, W, # and ? are not supported"],
    ["* * * * 5#2", "L, W, # and ? are not supported"],
    ["* * ? * 1", "L, W, # and ? are not supported"],
    ["0 0 30 2 *", "never occurs"],
    ["0 0 31 4,6,9,11 *", "never occurs"],
    ["CRON_TZ=Mars/Olympus_Mons * * * * *", "unknown CRON_TZ time zone"],
    ["CRON_TZ=+05:00 * * * * *", "unknown CRON_TZ time zone"],
    ["CRON_TZ= * * * * *", "unknown CRON_TZ time zone"],
    ["CRON_TZ=UTC", "must be followed by the cron fields"],
    ["TZ=UTC * * * * *", "expected 5 fields"],
  ])("rejects %j with a 400 (%s)", (raw, ...fragments) => {
    expectBadRequest(() => parseCron(raw), "invalid Upstash-Cron", ...fragments);
  });

  it("keeps a never-matching day-of-month when a restricted day-of-week can still fire (OR)", () => {
    expect(runs("0 0 30 2 MON", "2026-02-01T00:00:00Z", 1)).toEqual(["2026-02-02T00:00:00.000Z"]);
  });

  it("rejects input longer than 256 characters", () => {
    expectBadRequest(() => parseCron("* ".repeat(200)), "invalid Upstash-Cron", "longer than 256");
  });

  it("clips the echoed input", () => {
    const message = expectBadRequest(() => parseCron(`${"1,".repeat(120)}x * * * *`), "minute field");
    expect(message.length).toBeLessThan(300);
  });
});

describe("nextRunAfter (UTC)", () => {
  it("returns the next whole minute strictly after the given time", () => {
    const everyMinute = parseCron("* * * * *");
    expect(nextRunAfter(everyMinute, at("2026-01-01T00:00:00.000Z"))).toBe(at("2026-01-01T00:01:00Z"));
    expect(nextRunAfter(everyMinute, at("2026-01-01T00:00:59.999Z"))).toBe(at("2026-01-01T00:01:00Z"));
    expect(nextRunAfter(everyMinute, at("2025-12-31T23:59:59.999Z"))).toBe(at("2026-01-01T00:00:00Z"));
  });

  it("fires */15 on the quarter hours", () => {
    expect(runs("*/15 * * * *", "2026-01-01T10:07:00Z", 4)).toEqual([
      "2026-01-01T10:15:00.000Z",
      "2026-01-01T10:30:00.000Z",
      "2026-01-01T10:45:00.000Z",
      "2026-01-01T11:00:00.000Z",
    ]);
  });

  it("fires ranges with steps", () => {
    expect(runs("5-20/5 8-10/2 * * *", "2026-01-01T00:00:00Z", 5)).toEqual([
      "2026-01-01T08:05:00.000Z",
      "2026-01-01T08:10:00.000Z",
      "2026-01-01T08:15:00.000Z",
      "2026-01-01T08:20:00.000Z",
      "2026-01-01T10:05:00.000Z",
    ]);
  });

  it("reads names and treats both 0 and 7 as Sunday", () => {
    // 2026-03-01 is a Sunday.
    const sundays = ["2026-03-01T12:00:00.000Z", "2026-03-08T12:00:00.000Z"];
    expect(runs("0 12 * * 0", "2026-02-26T00:00:00Z", 2)).toEqual(sundays);
    expect(runs("0 12 * * 7", "2026-02-26T00:00:00Z", 2)).toEqual(sundays);
    expect(runs("0 12 * * sun", "2026-02-26T00:00:00Z", 2)).toEqual(sundays);
    expect(runs("0 12 1 Mar,SEP *", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-03-01T12:00:00.000Z",
      "2026-09-01T12:00:00.000Z",
      "2027-03-01T12:00:00.000Z",
    ]);
  });

  it("fires on the 13th OR on Fridays when both day fields are restricted", () => {
    // April 2026: Fridays 3, 10, 17, 24; the 13th is a Monday. May 1 and 8 are Fridays, May 13 a Wednesday.
    expect(runs("0 0 13 * 5", "2026-04-01T00:00:00Z", 8)).toEqual([
      "2026-04-03T00:00:00.000Z",
      "2026-04-10T00:00:00.000Z",
      "2026-04-13T00:00:00.000Z",
      "2026-04-17T00:00:00.000Z",
      "2026-04-24T00:00:00.000Z",
      "2026-05-01T00:00:00.000Z",
      "2026-05-08T00:00:00.000Z",
      "2026-05-13T00:00:00.000Z",
    ]);
  });

  it("uses AND when one day field is *", () => {
    // Only Fridays in April; only the 13th with any weekday.
    expect(runs("0 0 * 4 5", "2026-01-01T00:00:00Z", 5)).toEqual([
      "2026-04-03T00:00:00.000Z",
      "2026-04-10T00:00:00.000Z",
      "2026-04-17T00:00:00.000Z",
      "2026-04-24T00:00:00.000Z",
      "2027-04-02T00:00:00.000Z",
    ]);
    expect(runs("0 0 13 * *", "2026-04-01T00:00:00Z", 2)).toEqual([
      "2026-04-13T00:00:00.000Z",
      "2026-05-13T00:00:00.000Z",
    ]);
    // A step is a restriction: odd days OR Mondays (2026-04-06 is a Monday).
    expect(runs("0 0 */2 * 1", "2026-04-02T00:00:00Z", 3)).toEqual([
      "2026-04-03T00:00:00.000Z",
      "2026-04-05T00:00:00.000Z",
      "2026-04-06T00:00:00.000Z",
    ]);
  });

  it("waits for a leap year for February 29", () => {
    expect(runs("0 0 29 2 *", "2026-01-01T00:00:00Z", 2)).toEqual([
      "2028-02-29T00:00:00.000Z",
      "2032-02-29T00:00:00.000Z",
    ]);
  });

  it("returns undefined for times a Date cannot hold", () => {
    const schedule = parseCron("* * * * *");
    expect(nextRunAfter(schedule, Number.NaN)).toBeUndefined();
    expect(nextRunAfter(schedule, Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(nextRunAfter(schedule, 9e15)).toBeUndefined();
  });

  it("works on a copy of the schedule (plain data)", () => {
    const copy = structuredClone(parseCron("CRON_TZ=Europe/Berlin 0 9 * * *"));
    expect(nextRunAfter(copy, at("2026-01-10T00:00:00Z"))).toBe(at("2026-01-10T08:00:00Z"));
  });
});

describe("nextRunAfter with CRON_TZ and DST", () => {
  it("America/New_York spring forward (2026-03-08): 02:30 does not exist, croner runs at 03:00 EDT", () => {
    expect(runs("CRON_TZ=America/New_York 30 2 * * *", "2026-03-06T12:00:00Z", 3)).toEqual([
      "2026-03-07T07:30:00.000Z", // 02:30 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT, the end of the gap
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
    ]);
  });

  it("America/New_York spring forward: a job with several times (interval job) skips the gap", () => {
    expect(runs("CRON_TZ=America/New_York 0,30 2 * * *", "2026-03-07T12:00:00Z", 2)).toEqual([
      "2026-03-09T06:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
    ]);
  });

  it("America/New_York fall back (2026-11-01): 01:30 happens twice, a fixed time fires once, the first time", () => {
    expect(runs("CRON_TZ=America/New_York 30 1 * * *", "2026-10-31T00:00:00Z", 3)).toEqual([
      "2026-10-31T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; not again at 01:30 EST (06:30Z)
      "2026-11-02T06:30:00.000Z", // 01:30 EST
    ]);
  });

  it("America/New_York fall back: an interval job fires in both passes of the repeated hour", () => {
    expect(runs("CRON_TZ=America/New_York */30 1 * * *", "2026-11-01T04:00:00Z", 5)).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T06:30:00.000Z", // 01:30 EST
      "2026-11-02T06:00:00.000Z",
    ]);
  });

  it("Europe/Berlin 09:00 is 08:00Z in winter and 07:00Z in summer, across both transitions", () => {
    expect(runs("CRON_TZ=Europe/Berlin 0 9 * * *", "2026-03-28T00:00:00Z", 3)).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z", // first day of CEST
      "2026-03-30T07:00:00.000Z",
    ]);
    expect(runs("CRON_TZ=Europe/Berlin 0 9 * * *", "2026-10-24T00:00:00Z", 3)).toEqual([
      "2026-10-24T07:00:00.000Z",
      "2026-10-25T08:00:00.000Z", // first day of CET
      "2026-10-26T08:00:00.000Z",
    ]);
  });

  it("Europe/Berlin: 02:30 in the spring gap runs at 03:00 CEST; on fall-back day once, in CEST", () => {
    expect(runs("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-03-28T12:00:00Z", 2)).toEqual([
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(runs("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-10-24T12:00:00Z", 2)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("reads day fields in the zone", () => {
    // 23:00 on Mondays in Tokyo is 14:00Z on Mondays.
    expect(runs("CRON_TZ=Asia/Tokyo 0 23 * * MON", "2026-04-01T00:00:00Z", 1)).toEqual(["2026-04-06T14:00:00.000Z"]);
    // 00:30 on the 1st in Kolkata (UTC+05:30) is 19:00Z on the last day of the previous month.
    expect(runs("CRON_TZ=Asia/Kolkata 30 0 1 * *", "2026-04-01T00:00:00Z", 1)).toEqual(["2026-04-30T19:00:00.000Z"]);
  });
});

describe("firesAt", () => {
  it("checks the minute that contains the time", () => {
    const schedule = parseCron("*/15 * * * *");
    expect(firesAt(schedule, at("2026-01-01T10:15:00Z"))).toBe(true);
    expect(firesAt(schedule, at("2026-01-01T10:15:59.999Z"))).toBe(true);
    expect(firesAt(schedule, at("2026-01-01T10:16:00Z"))).toBe(false);
    expect(firesAt(schedule, at("2026-01-01T10:14:59.999Z"))).toBe(false);
    expect(firesAt(schedule, Number.NaN)).toBe(false);
  });

  it("filters an every-day superset down to the OR rule", () => {
    const schedule = parseCron("0 0 13 * 5");
    expect(firesAt(schedule, at("2026-04-13T00:00:10Z"))).toBe(true); // the 13th, a Monday
    expect(firesAt(schedule, at("2026-04-17T00:00:00Z"))).toBe(true); // a Friday
    expect(firesAt(schedule, at("2026-04-14T00:00:00Z"))).toBe(false);
    expect(firesAt(schedule, at("2026-04-13T00:01:00Z"))).toBe(false);
  });

  it("agrees with nextRunAfter on DST days", () => {
    const spring = parseCron("CRON_TZ=America/New_York 30 2 * * *");
    expect(firesAt(spring, at("2026-03-08T07:00:00Z"))).toBe(true);
    expect(firesAt(spring, at("2026-03-08T07:30:00Z"))).toBe(false);
    expect(firesAt(spring, at("2026-03-09T06:30:00Z"))).toBe(true);
    const fall = parseCron("CRON_TZ=America/New_York 30 1 * * *");
    expect(firesAt(fall, at("2026-11-01T05:30:00Z"))).toBe(true);
    expect(firesAt(fall, at("2026-11-01T06:30:00Z"))).toBe(false);
  });
});

describe("toEventBridgeCron", () => {
  it.each([
    ["*/5 * * * *", "cron(*/5 * * * ? *)"],
    ["* * * * *", "cron(* * * * ? *)"],
    ["0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"],
    ["0 9 * * MON-FRI", "cron(0 9 ? * MON-FRI *)"],
    ["0 0 1 * *", "cron(0 0 1 * ? *)"],
    ["0 0 * * 0", "cron(0 0 ? * SUN *)"],
    ["0 0 * * 7", "cron(0 0 ? * SUN *)"],
    ["0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"],
    ["0 0 * * 1,3", "cron(0 0 ? * MON,WED *)"],
    ["0 0 * * */1", "cron(0 0 * * ? *)"],
    ["0 0 * * 0-6", "cron(0 0 * * ? *)"],
    ["15-59/20 */6 * * *", "cron(15/20 */6 * * ? *)"],
    ["0-30/10 8-17 * JAN-MAR,DEC 0,7", "cron(0,10,20,30 8-17 ? 1-3,12 SUN *)"],
    ["0 0 */2 * *", "cron(0 0 */2 * ? *)"],
    ["0 0 1 */3 *", "cron(0 0 1 */3 ? *)"],
    ["0 12 1,15 2-12/2 *", "cron(0 12 1,15 2/2 ? *)"],
    ["@weekly", "cron(0 0 ? * SUN *)"],
    ["@yearly", "cron(0 0 1 1 ? *)"],
    // OR rule, but one side covers every day: exact every day.
    ["0 0 1 * 0-6", "cron(0 0 * * ? *)"],
    ["0 0 1-31 * MON", "cron(0 0 * * ? *)"],
  ])("translates %s exactly to %s", (raw, expression) => {
    expect(toEventBridgeCron(parseCron(raw))).toEqual({ expression, timezone: "UTC", exact: true });
  });

  it("fires a superset for the OR rule (both day fields restricted)", () => {
    expect(toEventBridgeCron(parseCron("0 0 13 * 5"))).toEqual({
      expression: "cron(0 0 * * ? *)",
      timezone: "UTC",
      exact: false,
    });
    expect(toEventBridgeCron(parseCron("30 6 1,15 6-8 MON"))).toEqual({
      expression: "cron(30 6 * 6-8 ? *)",
      timezone: "UTC",
      exact: false,
    });
  });

  it("passes the CRON_TZ zone through", () => {
    expect(toEventBridgeCron(parseCron("CRON_TZ=America/New_York 0 9 * * 1-5"))).toEqual({
      expression: "cron(0 9 ? * MON-FRI *)",
      timezone: "America/New_York",
      exact: true,
    });
  });

  it("stays within EventBridge's 256 characters for the longest lists", () => {
    const { expression } = toEventBridgeCron(parseCron("1-59/3,2-59/3 1-23/3,2-23/3 2-31/3,3-31/3 2-12/3,3-12/3 *"));
    expect(expression).toMatch(/^cron\(1,2,4,5,7,8,10,11,.* 2,3,5,6,.* \? \*\)$/);
    expect(expression.length).toBeLessThanOrEqual(256);
  });
});
