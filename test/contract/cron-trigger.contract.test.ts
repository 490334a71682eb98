import { rmSync } from "node:fs";
import { join } from "node:path";
import type { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { vi } from "vitest";
import { SchedulerCronTrigger } from "../../lambdas/adapters/aws/scheduler-cron-trigger.ts";
import { processDeliveryBatch } from "../../lambdas/adapters/aws/sqs-delivery.ts";
import { closeDatabase, openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import { TimerCronTrigger } from "../../lambdas/adapters/embedded/timer-cron-trigger.ts";
import type { CronTrigger, Store } from "../../lambdas/ports.ts";
import { EmulatedScheduler } from "../../emulation/emulated-scheduler.ts";
import { tempDir } from "../support/herald.ts";
import { cronTriggerContract, type CronTriggerFixture, type Firing } from "./cron-trigger.spec.ts";
import { putRecord } from "../../lambdas/core/records.ts";

const iso = (ms: number): string => new Date(ms).toISOString();

// npm start: in-process timers over the schedules kept in SQLite, on an injected clock, fired by tick().
cronTriggerContract("timers (SQLite)", async (start) => {
  const dir = tempDir();
  const db = openDatabase(dir);
  const store = new SqliteStore(db);
  let now = Date.parse(start);
  const clock = { now: () => now };
  const timers: TimerCronTrigger[] = [];

  const started = async (): Promise<CronTriggerFixture> => {
    const fired: Firing[] = [];
    const timer = new TimerCronTrigger(clock);
    timers.push(timer);
    await timer.start(store, async (id, at) => void fired.push([id, iso(at)]), { timers: false });
    return {
      trigger: keptIn(store, timer),
      fired,
      async advanceTo(time) {
        now = Date.parse(time);
        await timer.tick();
      },
      async restart() {
        timer.stop();
        return started();
      },
      close,
    };
  };
  const close = async (): Promise<void> => {
    for (const timer of timers) timer.stop();
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  };
  return started();
});

/** Keeps each schedule's record as core does before it calls the trigger: what a restart loads. */
function keptIn(store: Store, timer: TimerCronTrigger): CronTrigger {
  return {
    async upsert(scheduleId, cron, paused) {
      const current = await store.getRecord("schedule", scheduleId);
      await putRecord(store, "schedule", scheduleId, { scheduleId, cron, isPaused: paused }, current?.version);
      await timer.upsert(scheduleId, cron, paused);
    },
    async remove(scheduleId) {
      await timer.remove(scheduleId);
      await store.deleteRecord("schedule", scheduleId);
    },
  };
}

// AWS: EventBridge Scheduler (the emulation's stand-in, keeping its schedules in a file as the service
// does) sends each firing to the delivery queue; the delivery handler's decoding turns it into the
// firing core sees. The stand-in reads Date for "now", so Date alone is faked; it fires by tick().
cronTriggerContract("EventBridge Scheduler (stand-in)", async (start) => {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.parse(start) });
  const dir = tempDir();
  const file = join(dir, "schedules.json");
  const schedulers: EmulatedScheduler[] = [];

  const started = (): CronTriggerFixture => {
    const fired: Firing[] = [];
    const bodies: string[] = [];
    const sqs = { send: async (command: SendMessageCommand) => void bodies.push(command.input.MessageBody as string) };
    const scheduler = new EmulatedScheduler(sqs as unknown as SQSClient, () => "delivery-queue-url", file);
    schedulers.push(scheduler);
    const trigger = new SchedulerCronTrigger({
      scheduler,
      scheduleGroup: "herald",
      queueArn: "arn:aws:sqs:us-east-1:000000000000:herald-deliveries",
      schedulerRoleArn: "arn:aws:iam::000000000000:role/herald-scheduler",
      scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:herald-poison",
    });
    return {
      trigger,
      fired,
      async advanceTo(time) {
        vi.setSystemTime(Date.parse(time));
        await scheduler.tick(Date.parse(time));
        const records = bodies.splice(0).map((body, i) => ({ messageId: `r${fired.length + i}`, body }));
        const failures = await processDeliveryBatch(records, {
          dispatcher: { dispatch: async () => undefined },
          deliver: async () => undefined,
          fire: async (id, at) => void fired.push([id, iso(at)]),
          now: () => Date.now(),
        });
        if (failures.length > 0) throw new Error(`firings the delivery handler failed: ${JSON.stringify(failures)}`);
      },
      async restart() {
        scheduler.close();
        return started();
      },
      close,
    };
  };
  const close = async (): Promise<void> => {
    for (const scheduler of schedulers) scheduler.close();
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  };
  return started();
});
