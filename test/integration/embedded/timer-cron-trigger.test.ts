import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../lambdas/adapters/embedded/sqlite-database.ts";
import { TimerCronTrigger } from "../../../lambdas/adapters/embedded/timer-cron-trigger.ts";
import { SqliteStore } from "../../../lambdas/adapters/embedded/sqlite-store.ts";
import { tempDir } from "../../support/herald.ts";

/** A clock the test moves by hand: no test waits for a real minute. */
function fakeClock(start: string) {
  let now = Date.parse(start);
  return { now: () => now, set: (iso: string) => (now = Date.parse(iso)) };
}

async function started(clock: ReturnType<typeof fakeClock>, store = new SqliteStore(openDatabase(tempDir()))) {
  const fired: [string, string][] = [];
  const trigger = new TimerCronTrigger(clock);
  await trigger.start(store, async (id, at) => void fired.push([id, new Date(at).toISOString()]), { timers: false });
  return { trigger, fired, store };
}

describe("TimerCronTrigger with an injected clock", () => {
  it("fires CRON_TZ schedules at local time across daylight saving time", async () => {
    const clock = fakeClock("2026-03-27T12:00:00Z");
    const { trigger, fired } = await started(clock);
    await trigger.upsert("berlin-9", "CRON_TZ=Europe/Berlin 0 9 * * *", false);
    for (const day of ["2026-03-28", "2026-03-29", "2026-03-30"]) {
      clock.set(`${day}T12:00:00Z`);
      await trigger.tick();
    }
    // 09:00 CET is 08:00Z; from 29 March (CEST) it is 07:00Z.
    expect(fired).toEqual([
      ["berlin-9", "2026-03-28T08:00:00.000Z"],
      ["berlin-9", "2026-03-29T07:00:00.000Z"],
      ["berlin-9", "2026-03-30T07:00:00.000Z"],
    ]);
  });

  it("fires each due minute once, not while paused, and not after removal", async () => {
    const clock = fakeClock("2026-01-01T00:00:30Z");
    const { trigger, fired } = await started(clock);
    await trigger.upsert("every-5", "*/5 * * * *", false);
    clock.set("2026-01-01T00:05:00Z");
    await trigger.tick();
    await trigger.tick(); // the same minute again
    expect(fired).toEqual([["every-5", "2026-01-01T00:05:00.000Z"]]);
    await trigger.upsert("every-5", "*/5 * * * *", true);
    clock.set("2026-01-01T00:10:00Z");
    await trigger.tick();
    expect(fired).toHaveLength(1);
    await trigger.upsert("every-5", "*/5 * * * *", false);
    clock.set("2026-01-01T00:15:00Z");
    await trigger.tick();
    expect(fired.at(-1)).toEqual(["every-5", "2026-01-01T00:15:00.000Z"]);
    await trigger.remove("every-5");
    clock.set("2026-01-01T00:20:00Z");
    await trigger.tick();
    expect(fired).toHaveLength(2);
  });

  it("picks up the schedules kept in the store when it starts (a restart)", async () => {
    const clock = fakeClock("2026-06-01T10:00:10Z");
    const store = new SqliteStore(openDatabase(tempDir()));
    await store.putRecord("schedule", "kept", { scheduleId: "kept", cron: "0 11 * * *", isPaused: false }, undefined);
    await store.putRecord("schedule", "held", { scheduleId: "held", cron: "0 11 * * *", isPaused: true }, undefined);
    const { trigger, fired } = await started(clock, store);
    clock.set("2026-06-01T11:00:00Z");
    await trigger.tick();
    expect(fired).toEqual([["kept", "2026-06-01T11:00:00.000Z"]]);
  });
});
