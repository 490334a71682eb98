/** Recurring triggers of schedules (local timers; EventBridge Scheduler on AWS). */
export interface CronTrigger {
  /** Creates or replaces the trigger; each firing calls core's fireSchedule with the schedule id. */
  upsert(scheduleId: string, cron: string, paused: boolean): Promise<void>;
  remove(scheduleId: string): Promise<void>;
}
