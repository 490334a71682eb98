// A schedule's last firing, against each Store: a firing's messages stand for it (their ids derive from
// the schedule and the minute), and a firing record is written only where they cannot (a firing that made
// no message, a schedule whose next firing may come after they expire). Run by
// test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { createSchedule, fireSchedule, getSchedule, setSchedulePaused } from "../../lambdas/core/schedules.ts";
import { deleteUrlGroup, upsertEndpoints } from "../../lambdas/core/url-groups.ts";
import { deliveredTo, RECEIVER, withHarness, type CoreHarness, type OpenCoreFixture } from "../support/core-harness.ts";

const MINUTE = 60_000;

/** Creates a schedule (or replaces the one with `id`). */
async function scheduleTo(h: CoreHarness, destination: string, cron: string, id?: string): Promise<string> {
  const { scheduleId } = await h.invoke(() =>
    createSchedule(h.ctx, {
      destination,
      rawQuery: "",
      headers: { "upstash-cron": cron, ...(id === undefined ? {} : { "upstash-schedule-id": id }) },
      body: new TextEncoder().encode("tick"),
    }),
  );
  return scheduleId;
}

const view = (h: CoreHarness, scheduleId: string) => h.invoke(() => getSchedule(h.ctx, scheduleId));

/** Fires the schedule at its next firing time, with the clock there, as the trigger would. */
async function fireNext(h: CoreHarness, scheduleId: string): Promise<{ at: number; ids: string[] }> {
  const at = (await view(h, scheduleId)).nextScheduleTime as number;
  h.advance(at - h.clock.now() + 1_000);
  return { at, ids: await h.invoke(() => fireSchedule(h.ctx, scheduleId, at)) };
}

const firingRecord = (h: CoreHarness, scheduleId: string) => h.ctx.store.getRecord("scheduleFiring", scheduleId);

export function scheduleFiringsContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) => withHarness(open, {}, body);

  describe(`Schedule firings: ${name}`, () => {
    it(
      "a schedule firing every minute writes no firing record: its view finds the last firing from its messages",
      test(async (h) => {
        const scheduleId = await scheduleTo(h, `${RECEIVER}/every-minute`, "* * * * *");
        await fireNext(h, scheduleId);
        const second = await fireNext(h, scheduleId);
        expect(await firingRecord(h, scheduleId)).toBeUndefined();
        expect(await view(h, scheduleId)).toMatchObject({
          lastScheduleTime: second.at,
          lastScheduleStates: { [second.ids[0] as string]: "IN_PROGRESS" },
          nextScheduleTime: second.at + MINUTE,
        });
        await h.drain();
        expect(deliveredTo(h, "/every-minute")).toHaveLength(2);
        expect((await view(h, scheduleId)).lastScheduleStates).toEqual({ [second.ids[0] as string]: "SUCCESS" });
      }),
    );

    it(
      "a firing processed again after its dispatch failed sends its stored message when it is due, not later",
      test(async (h) => {
        const { scheduleId } = await h.invoke(() =>
          createSchedule(h.ctx, {
            destination: `${RECEIVER}/delayed-firing`,
            rawQuery: "",
            headers: { "upstash-cron": "* * * * *", "upstash-delay": "10m" },
            body: new TextEncoder().encode("tick"),
          }),
        );
        const dues: number[] = [];
        const dispatch = h.ctx.dispatcher.dispatch.bind(h.ctx.dispatcher);
        h.ctx.dispatcher.dispatch = async (job, due) => {
          dues.push(due);
          return dispatch(job, due);
        };
        const at = (await view(h, scheduleId)).nextScheduleTime as number;
        h.advance(at - h.clock.now() + 1_000);
        h.failNextDispatch();
        await expect(h.invoke(() => fireSchedule(h.ctx, scheduleId, at))).rejects.toThrow();
        h.advance(5 * MINUTE); // the trigger (SQS on AWS) gives the firing again later
        const [id] = await h.invoke(() => fireSchedule(h.ctx, scheduleId, at));
        const stored = await h.ctx.store.getMessage(id as string);
        expect(stored?.message.notBefore).toBe(at + 1_000 + 10 * MINUTE);
        expect(dues.at(-1)).toBe(stored?.message.notBefore);
      }),
    );

    it(
      "a schedule firing less often than half the retention records its firing",
      test(async (h) => {
        const scheduleId = await scheduleTo(h, `${RECEIVER}/weekly`, "0 9 * * 1");
        const firing = await fireNext(h, scheduleId);
        expect((await firingRecord(h, scheduleId))?.value).toEqual({
          lastScheduleTime: firing.at,
          lastMessageIds: firing.ids,
        });
        // Four weeks on, three firing times later (none fired: the trigger here fires only when told),
        // the view no longer looks as far back as the firing's message: it takes the record.
        h.advance(4 * 7 * 86_400_000);
        const seen = await view(h, scheduleId);
        expect(seen).toMatchObject({ lastScheduleTime: firing.at });
        // Its message's state where every status is written: IN_PROGRESS (its job never ran here). A light
        // record (DynamoDB) past the retention has no log left to tell how it ended: no state is shown.
        expect(seen.lastScheduleStates).toEqual(
          h.ctx.store.lightRecords ? undefined : { [firing.ids[0] as string]: "IN_PROGRESS" },
        );
      }),
    );

    it(
      "a paused schedule shows the last firing before its pause, however long it stays paused",
      test(async (h) => {
        const scheduleId = await scheduleTo(h, `${RECEIVER}/paused`, "* * * * *");
        await fireNext(h, scheduleId);
        const last = await fireNext(h, scheduleId);
        h.advance(20_000);
        await h.invoke(() => setSchedulePaused(h.ctx, scheduleId, true));
        h.advance(30 * MINUTE);
        const paused = await view(h, scheduleId);
        expect(paused).toMatchObject({ isPaused: true, lastScheduleTime: last.at });
        expect(paused.lastScheduleStates).toEqual({ [last.ids[0] as string]: "IN_PROGRESS" });
      }),
    );

    it(
      "a schedule paused over several firing times, then resumed, still shows the firing before its pause",
      test(async (h) => {
        const scheduleId = await scheduleTo(h, `${RECEIVER}/resumed`, "* * * * *");
        const last = await fireNext(h, scheduleId);
        h.advance(20_000);
        await h.invoke(() => setSchedulePaused(h.ctx, scheduleId, true));
        h.advance(10 * MINUTE);
        await h.invoke(() => setSchedulePaused(h.ctx, scheduleId, false));
        expect(await view(h, scheduleId)).toMatchObject({ isPaused: false, lastScheduleTime: last.at });
        const after = await fireNext(h, scheduleId);
        expect(await view(h, scheduleId)).toMatchObject({ lastScheduleTime: after.at });
      }),
    );

    it(
      "a schedule given a new cron keeps its last firing",
      test(async (h) => {
        const scheduleId = await scheduleTo(h, `${RECEIVER}/recron`, "* * * * *");
        const last = await fireNext(h, scheduleId);
        h.advance(5_000);
        expect(await scheduleTo(h, `${RECEIVER}/recron`, "30 4 * * *", scheduleId)).toBe(scheduleId);
        expect(await view(h, scheduleId)).toMatchObject({
          cron: "30 4 * * *",
          lastScheduleTime: last.at,
          lastScheduleStates: { [last.ids[0] as string]: "IN_PROGRESS" },
        });
      }),
    );

    it(
      "a firing that made no message is recorded with why, and shown over the older firing's messages",
      test(async (h) => {
        await h.invoke(() => upsertEndpoints(h.ctx, "firing-group", { endpoints: [{ url: `${RECEIVER}/g1` }] }));
        const scheduleId = await scheduleTo(h, "firing-group", "* * * * *");
        await fireNext(h, scheduleId);
        await h.invoke(() => deleteUrlGroup(h.ctx, "firing-group"));
        const failed = await fireNext(h, scheduleId);
        expect(failed.ids).toEqual([]);
        const shown = await view(h, scheduleId);
        expect(shown).toMatchObject({ lastScheduleTime: failed.at, error: expect.stringContaining("firing-group") });
        expect(shown.lastScheduleStates).toBeUndefined();
      }),
    );

    it(
      "a URL group's firing shows each endpoint's message",
      test(async (h) => {
        await h.invoke(() =>
          upsertEndpoints(h.ctx, "pair", { endpoints: [{ url: `${RECEIVER}/p1` }, { url: `${RECEIVER}/p2` }] }),
        );
        const scheduleId = await scheduleTo(h, "pair", "*/5 * * * *");
        const firing = await fireNext(h, scheduleId);
        expect(firing.ids).toHaveLength(2);
        expect(await firingRecord(h, scheduleId)).toBeUndefined();
        expect((await view(h, scheduleId)).lastScheduleStates).toEqual(
          Object.fromEntries(firing.ids.map((id) => [id, "IN_PROGRESS"])),
        );
      }),
    );
  });
}
