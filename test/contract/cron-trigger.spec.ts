// The CronTrigger contract: one spec, run against every platform's recurring trigger (in-process timers for
// npm start, EventBridge Scheduler on AWS). test/contract/cron-trigger.contract.test.ts runs it. What is
// asserted is what core sees: which schedule fires, for which minute.
import { describe, expect, it } from "vitest";
import type { CronTrigger } from "../../lambdas/ports.ts";

/** A firing as core receives it: the schedule id and the minute it fired for (ISO). */
export type Firing = [scheduleId: string, at: string];

export interface CronTriggerFixture {
  trigger: CronTrigger;
  /** Every firing so far, in order. */
  fired: Firing[];
  /** Moves the platform's clock to `iso` and lets it fire what is due then, without waiting a real minute. */
  advanceTo(iso: string): Promise<void>;
  /** Stops this trigger and starts the platform's again over what it kept (a restart), at the same time. */
  restart(): Promise<CronTriggerFixture>;
  close(): Promise<void>;
}

/** `open(start)` gives a trigger whose clock reads `start`, with no schedule yet. */
export function cronTriggerContract(name: string, open: (start: string) => Promise<CronTriggerFixture>): void {
  describe(`CronTrigger contract: ${name}`, () => {
    const at = (start: string, test: (fixture: CronTriggerFixture) => Promise<void>) => async () => {
      const fixture = await open(start);
      try {
        await test(fixture);
      } finally {
        await fixture.close();
      }
    };
    const firingsOf = (fired: Firing[], scheduleId: string): Firing[] => fired.filter(([id]) => id === scheduleId);

    it(
      "fires CRON_TZ schedules at local time across daylight saving time",
      at("2026-03-27T12:00:00Z", async ({ trigger, fired, advanceTo }) => {
        await trigger.upsert("berlin-9", "CRON_TZ=Europe/Berlin 0 9 * * *", false);
        for (const day of ["2026-03-28", "2026-03-29", "2026-03-30"]) await advanceTo(`${day}T12:00:00Z`);
        // 09:00 CET is 08:00Z; from 29 March (CEST) it is 07:00Z.
        expect(fired).toEqual([
          ["berlin-9", "2026-03-28T08:00:00.000Z"],
          ["berlin-9", "2026-03-29T07:00:00.000Z"],
          ["berlin-9", "2026-03-30T07:00:00.000Z"],
        ]);
      }),
    );

    it(
      "fires each due minute once, not while paused, and not after removal",
      at("2026-01-01T00:00:30Z", async ({ trigger, fired, advanceTo }) => {
        // Fires at the same minutes throughout: each of its firings proves the clock reached that minute
        // and the platform fired what was due, before the absences below are asserted.
        await trigger.upsert("witness", "*/5 * * * *", false);
        await trigger.upsert("every-5", "*/5 * * * *", false);
        await advanceTo("2026-01-01T00:05:00Z");
        await advanceTo("2026-01-01T00:05:00Z"); // the same minute again
        expect(firingsOf(fired, "every-5")).toEqual([["every-5", "2026-01-01T00:05:00.000Z"]]);

        await trigger.upsert("every-5", "*/5 * * * *", true);
        await advanceTo("2026-01-01T00:10:00Z");
        expect(firingsOf(fired, "witness").at(-1)).toEqual(["witness", "2026-01-01T00:10:00.000Z"]);
        expect(firingsOf(fired, "every-5")).toHaveLength(1); // paused

        await trigger.upsert("every-5", "*/5 * * * *", false);
        await advanceTo("2026-01-01T00:15:00Z");
        expect(firingsOf(fired, "every-5").at(-1)).toEqual(["every-5", "2026-01-01T00:15:00.000Z"]);

        await trigger.remove("every-5");
        await trigger.remove("every-5"); // already gone: fine
        await advanceTo("2026-01-01T00:20:00Z");
        expect(firingsOf(fired, "witness").at(-1)).toEqual(["witness", "2026-01-01T00:20:00.000Z"]);
        expect(firingsOf(fired, "every-5")).toHaveLength(2);
      }),
    );

    it(
      "replaces a schedule's cron on upsert",
      at("2026-05-04T08:00:30Z", async ({ trigger, fired, advanceTo }) => {
        await trigger.upsert("changing", "0 9 * * *", false);
        await trigger.upsert("changing", "30 8 * * *", false);
        await advanceTo("2026-05-04T08:30:00Z");
        await advanceTo("2026-05-04T09:00:00Z");
        expect(fired).toEqual([["changing", "2026-05-04T08:30:00.000Z"]]);
      }),
    );

    it(
      "keeps its schedules, paused ones paused, across a restart",
      at("2026-06-01T10:00:10Z", async (fixture) => {
        await fixture.trigger.upsert("kept", "0 11 * * *", false);
        await fixture.trigger.upsert("held", "0 11 * * *", true);
        const restarted = await fixture.restart();
        await restarted.advanceTo("2026-06-01T11:00:00Z");
        expect(restarted.fired).toEqual([["kept", "2026-06-01T11:00:00.000Z"]]);
      }),
    );
  });
}
