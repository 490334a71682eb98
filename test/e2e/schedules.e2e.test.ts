import { describe, expect, it } from "vitest";
import { describeEachMode, eventually, holdAnswers, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("schedules", (mode) => {
  const setup = useHeraldWithSink({ mode });

  /**
   * Fires a new schedule through the platform's trigger and waits for its message: the firings made before
   * went the same way, so what they published is delivered by then. No other schedule may be due by then.
   */
  async function witnessFiring(path: string): Promise<void> {
    const { client, server } = setup.herald;
    const destination = `${setup.sink.url}${path}`;
    const { scheduleId } = await client.schedules.create({ destination, cron: "* * * * *", body: "witness" });
    await server.runDueSchedules((await client.schedules.get(scheduleId)).nextScheduleTime as number);
    await setup.sink.waitFor(path);
    await client.schedules.delete(scheduleId);
  }

  describe("the API", () => {
    it("creates a schedule with every option and returns its fields", async () => {
      const { client } = setup.herald;
      const sink = setup.sink.url;
      const { scheduleId } = await client.schedules.create({
        destination: `${sink}/scheduled/options`,
        cron: "*/10 * * * * ",
        body: JSON.stringify({ hello: "world" }),
        headers: { "X-Custom": "yes" },
        method: "PUT",
        delay: 10,
        retries: 2,
        retryDelay: "1000 * (1 + retried)",
        timeout: 30,
        callback: `${sink}/scheduled/callback`,
        failureCallback: `${sink}/scheduled/failure`,
        label: ["nightly", "eu"],
        flowControl: { key: "sched-fc", parallelism: 2 },
      });
      expect(scheduleId).toMatch(/^scd_/);
      const schedule = await client.schedules.get(scheduleId);
      expect(schedule).toMatchObject({
        scheduleId,
        cron: "*/10 * * * *",
        destination: `${sink}/scheduled/options`,
        method: "PUT",
        isPaused: false,
        body: '{"hello":"world"}',
        retries: 2,
        delay: 10,
        timeout: 30,
        callback: `${sink}/scheduled/callback`,
        failureCallback: `${sink}/scheduled/failure`,
        retryDelayExpression: "1000 * (1 + retried)",
        flowControlKey: "sched-fc",
        parallelism: 2,
        labels: ["nightly", "eu"],
      });
      expect(schedule.header).toEqual({ "X-Custom": ["yes"], "Content-Type": ["application/json"] });
      expect(typeof schedule.createdAt).toBe("number");
      const next = (schedule as { nextScheduleTime?: number }).nextScheduleTime as number;
      expect(next % 600_000).toBe(0);
      expect(next).toBeGreaterThan(Date.now());
      expect((await client.schedules.list()).map((s) => s.scheduleId)).toContain(scheduleId);
    });

    it("overwrites every setting when created again with the same id; pauses, resumes and deletes", async () => {
      const { client, api } = setup.herald;
      const destination = `${setup.sink.url}/scheduled/edit`;
      await client.schedules.create({
        scheduleId: "edit-me",
        destination,
        cron: "0 0 1 1 *",
        body: "first",
        retries: 5,
      });
      await client.schedules.create({ scheduleId: "edit-me", destination, cron: "1 1 1 1 1" });
      const edited = await client.schedules.get("edit-me");
      expect(edited).toMatchObject({ scheduleId: "edit-me", cron: "1 1 1 1 1", retries: 3 });
      expect(edited.body).toBeUndefined();

      await client.schedules.pause({ schedule: "edit-me" });
      expect((await client.schedules.get("edit-me")).isPaused).toBe(true);
      await client.schedules.pause({ schedule: "edit-me" }); // idempotent
      const resumed = await api("/v2/schedules/edit-me/resume", { method: "POST" }); // the OpenAPI's method
      expect(resumed.status).toBe(200);
      expect((await client.schedules.get("edit-me")).isPaused).toBe(false);
      await client.schedules.delete("edit-me");
      expect((await api("/v2/schedules/edit-me")).status).toBe(404);
      expect((await client.schedules.list()).map((s) => s.scheduleId)).not.toContain("edit-me");
    });

    it("answers 400 for a bad cron, schedule id or option, and keeps serving", async () => {
      const { api } = setup.herald;
      const url = `/v2/schedules/${setup.sink.url}/x`;
      for (const headers of [
        {},
        { "Upstash-Cron": "* * * *" },
        { "Upstash-Cron": "61 * * * *" },
        { "Upstash-Cron": "CRON_TZ=Mars/Olympus * * * * *" },
        { "Upstash-Cron": "* * * * *", "Upstash-Schedule-Id": "bad id!" },
        { "Upstash-Cron": "* * * * *", "Upstash-Retries": "-1" },
      ]) {
        const res = await api(url, { method: "POST", headers, body: "x" });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ error: expect.any(String) });
      }
      // Options given as `upstash-*` query parameters are checked the same (a firing reads them there).
      for (const query of ["upstash-retries=abc", `upstash-not-before=${Math.floor(Date.now() / 1000) + 3600}`]) {
        const res = await api(`${url}?${query}`, {
          method: "POST",
          headers: { "Upstash-Cron": "* * * * *" },
          body: "x",
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ error: expect.any(String) });
      }
      const delayed = await api(`${url}?upstash-delay=10m`, {
        method: "POST",
        headers: { "Upstash-Cron": "* * * * *" },
        body: "x",
      });
      expect(delayed.status).toBe(200);
      const { scheduleId } = (await delayed.json()) as { scheduleId: string };
      expect(await setup.herald.client.schedules.get(scheduleId)).toMatchObject({ delay: 600 });
      await setup.herald.client.schedules.delete(scheduleId);
    });

    it("reads CRON_TZ: 9:00 in New York is 13:00 or 14:00 UTC depending on daylight saving time", async () => {
      const { client } = setup.herald;
      const { scheduleId } = await client.schedules.create({
        destination: `${setup.sink.url}/scheduled/tz`,
        cron: "CRON_TZ=America/New_York 0 9 * * *",
      });
      const schedule = await client.schedules.get(scheduleId);
      expect(schedule.cron).toBe("CRON_TZ=America/New_York 0 9 * * *");
      const next = new Date((schedule as { nextScheduleTime?: number }).nextScheduleTime as number);
      const localHour = Number(
        new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", hour12: false }).format(next),
      );
      expect(localHour).toBe(9);
      expect([13, 14]).toContain(next.getUTCHours());
    });
  });

  describe("firings", () => {
    it("publishes a new message carrying Upstash-Schedule-Id at each firing, once per minute", async () => {
      const { client, server, receiver } = setup.herald;
      const destination = `${setup.sink.url}/scheduled/every-minute`;
      const { scheduleId } = await client.schedules.create({ destination, cron: "* * * * *", body: "tick" });
      const next = (await client.schedules.get(scheduleId)).nextScheduleTime as number;
      await server.runDueSchedules(next);
      await server.runDueSchedules(next); // the same firing again does not publish twice
      const [received] = await setup.sink.waitFor("/scheduled/every-minute");
      expect(received?.body.toString()).toBe("tick");
      expect(received?.headers["upstash-schedule-id"]).toBe(scheduleId);
      await expect(
        receiver.verify({
          signature: received?.headers["upstash-signature"] as string,
          body: "tick",
          url: destination,
        }),
      ).resolves.toBe(true);
      const messageId = received?.headers["upstash-message-id"] as string;

      const after = await eventually(async () => {
        const s = await client.schedules.get(scheduleId);
        return s.lastScheduleTime === next ? s : undefined;
      });
      expect(after.nextScheduleTime).toBeGreaterThan(next);
      expect((after as { lastScheduleStates?: Record<string, string> }).lastScheduleStates).toEqual({
        [messageId]: expect.stringMatching(/^(IN_PROGRESS|SUCCESS)$/),
      });
      const logs = await eventually(async () => {
        const page = await client.logs({ filter: { scheduleId } });
        return page.logs.some((l) => l.state === "DELIVERED") ? page.logs : undefined;
      });
      expect(logs[0]?.messageId).toBe(messageId);
      // Once the log says it was delivered, the schedule says the firing succeeded.
      const settled = (await client.schedules.get(scheduleId)) as { lastScheduleStates?: Record<string, string> };
      expect(settled.lastScheduleStates).toEqual({ [messageId]: "SUCCESS" });
      // Replacing the schedule keeps its last firing; a schedule made again after a delete has none.
      await client.schedules.create({ destination, cron: "* * * * *", body: "tock", scheduleId });
      expect(await client.schedules.get(scheduleId)).toMatchObject({ lastScheduleTime: next });
      await client.schedules.delete(scheduleId);
      await client.schedules.create({ destination, cron: "0 0 1 1 *", body: "new", scheduleId });
      const remade = await client.schedules.get(scheduleId);
      expect(remade.lastScheduleTime).toBeUndefined();
      expect((remade as { lastScheduleStates?: unknown }).lastScheduleStates).toBeUndefined();
      await client.schedules.delete(scheduleId);
      // Deleted, so the witness's firing is the only one due: the repeated firing published no second message.
      await witnessFiring("/scheduled/witness/1");
      expect(setup.sink.at("/scheduled/every-minute")).toHaveLength(1);
    });

    it("ignores firings while paused, and enqueues to Upstash-Queue-Name", async () => {
      const { client, server } = setup.herald;
      const { scheduleId } = await client.schedules.create({
        destination: `${setup.sink.url}/scheduled/queued`,
        cron: "* * * * *",
        body: "queued",
        queueName: "from-schedule",
      });
      const next = (await client.schedules.get(scheduleId)).nextScheduleTime as number;
      await client.schedules.pause({ schedule: scheduleId });
      await server.runDueSchedules(next);
      await witnessFiring("/scheduled/witness/2"); // the paused one is not due
      expect(setup.sink.at("/scheduled/queued")).toHaveLength(0);

      await client.schedules.resume({ schedule: scheduleId });
      const release = holdAnswers(setup.sink, "/scheduled/queued", 2000); // in flight, so still readable
      const resumedNext = (await client.schedules.get(scheduleId)).nextScheduleTime as number;
      await server.runDueSchedules(resumedNext);
      const [received] = await setup.sink.waitFor("/scheduled/queued");
      const message = await client.messages.get(received?.headers["upstash-message-id"] as string);
      expect(message).toMatchObject({ queueName: "from-schedule", scheduleId });
      release();
      await client.schedules.delete(scheduleId);
    });

    it("fans out to a URL group", async () => {
      const { client, server } = setup.herald;
      await client.urlGroups.addEndpoints({
        name: "scheduled-group",
        endpoints: [{ url: `${setup.sink.url}/scheduled/g1` }, { url: `${setup.sink.url}/scheduled/g2` }],
      });
      const { scheduleId } = await client.schedules.create({ destination: "scheduled-group", cron: "* * * * *" });
      expect((await client.schedules.get(scheduleId)).destination).toBe("scheduled-group");
      await server.runDueSchedules((await client.schedules.get(scheduleId)).nextScheduleTime as number);
      const [one] = await setup.sink.waitFor("/scheduled/g1");
      await setup.sink.waitFor("/scheduled/g2");
      expect(one?.headers["upstash-topic-name"]).toBe("scheduled-group");
      await client.schedules.delete(scheduleId);
    });
  });
});
