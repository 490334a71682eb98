import { nextRunAfter, parseCron, type CronSchedule } from "../../core/cron.ts";
import type { Schedule } from "../../core/schedules.ts";
import type { Clock, CronTrigger, Store } from "../../ports.ts";

export type FireSchedule = (scheduleId: string, firedAt: number) => Promise<unknown>;

interface Armed {
  cron: CronSchedule;
  paused: boolean;
  next: number | undefined;
}

// setTimeout cannot wait longer than ~24.8 days; far-off firings re-check hourly instead.
const MAX_SLEEP_MS = 3_600_000;

/**
 * Local mode's recurring triggers: in-process timers over the schedules kept in the Store (so they
 * survive a restart). Like cron, a firing whose minute passed while the process was down is skipped.
 * `tick(now)` runs what is due at `now`; tests drive it with an injected clock.
 */
export class TimerCronTrigger implements CronTrigger {
  private readonly armed = new Map<string, Armed>();
  private readonly clock: Clock;
  private fire: FireSchedule | undefined;
  private timer: NodeJS.Timeout | undefined;
  private useTimers = true;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Loads every stored schedule and starts firing. `timers: false` leaves firing to `tick` (tests). */
  async start(store: Store, fire: FireSchedule, options: { timers?: boolean } = {}): Promise<void> {
    this.fire = fire;
    this.useTimers = options.timers ?? true;
    for (const schedule of await store.listRecords<Schedule>("schedule")) {
      this.arm(schedule.scheduleId, schedule.cron, schedule.isPaused);
    }
    this.rearm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.fire = undefined;
  }

  async upsert(scheduleId: string, cron: string, paused: boolean): Promise<void> {
    this.arm(scheduleId, cron, paused);
    this.rearm();
  }

  async remove(scheduleId: string): Promise<void> {
    this.armed.delete(scheduleId);
    this.rearm();
  }

  /** Fires every schedule whose next firing is at or before `now`, then computes its next one. */
  async tick(now = this.clock.now()): Promise<void> {
    const due: [string, number][] = [];
    for (const [id, armed] of this.armed) {
      if (armed.next === undefined || armed.next > now) continue;
      due.push([id, armed.next]);
      armed.next = nextRunAfter(armed.cron, now);
    }
    for (const [id, at] of due) {
      try {
        await this.fire?.(id, at);
      } catch (error) {
        console.error(`schedule ${id} failed to fire`, error);
      }
    }
    this.rearm();
  }

  private arm(scheduleId: string, cron: string, paused: boolean): void {
    const parsed = parseCron(cron);
    this.armed.set(scheduleId, {
      cron: parsed,
      paused,
      next: paused ? undefined : nextRunAfter(parsed, this.clock.now()),
    });
  }

  private rearm(): void {
    clearTimeout(this.timer);
    if (!this.useTimers || !this.fire) return;
    let soonest = Number.POSITIVE_INFINITY;
    for (const armed of this.armed.values()) if (armed.next !== undefined) soonest = Math.min(soonest, armed.next);
    if (soonest === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(Math.max(0, soonest - this.clock.now()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }
}
