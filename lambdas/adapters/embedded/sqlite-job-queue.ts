import { Statements } from "./sqlite-statements.ts";
import { writeGroup, type WriteGroup } from "./write-group.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Clock, DeliveryJob, Dispatcher } from "../../ports.ts";

export type JobHandler = (job: DeliveryJob) => Promise<unknown>;

interface JobRow {
  seq: number;
  message_id: string;
  retried: number;
  due_at: number;
}

// Jobs started per turn of the event loop. Starting one reads its message and begins its attempt, all on
// the event loop: a backlog started at once (up to maxInFlight) held every request behind it.
const PUMP_BATCH = 32;

// setTimeout cannot wait longer than ~24.8 days; far-off wake-ups re-check hourly instead.
const MAX_SLEEP_MS = 3_600_000;

/**
 * The local Dispatcher: a durable job table in the same SQLite file, worked by in-process timers.
 * A job is deleted only after its handler finished, so a job whose process died mid-attempt runs
 * again after restart (at-least-once, like an SQS visibility timeout).
 */
export class SqliteJobQueue implements Dispatcher {
  private readonly statements: Statements;
  private readonly group: WriteGroup;
  private readonly clock: Clock;
  private readonly maxInFlight: number;
  private readonly handlerFailureBackoffMs: number;
  private readonly inFlight = new Set<number>();
  private handler: JobHandler | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  /**
   * The (due_at, seq) of the last job started, in the order jobs start. Every due job before it is in flight
   * or done, so a pump reads only the jobs after it instead of skipping over the ones in flight each time
   * (up to maxInFlight rows per pump). A job that would sort before it (a due time in the past) resets it.
   */
  private cursor: { due: number; seq: number } | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    db: DatabaseSync,
    clock: Clock,
    options: { maxInFlight?: number; handlerFailureBackoffMs?: number } = {},
  ) {
    this.statements = new Statements(db);
    this.group = writeGroup(db);
    this.clock = clock;
    this.maxInFlight = options.maxInFlight ?? 128;
    this.handlerFailureBackoffMs = options.handlerFailureBackoffMs ?? 5_000;
    // A rolled-back group may have held job deletes or inserts behind the cursor: read the table again.
    this.group.onRollback(() => {
      this.cursor = undefined;
      if (!this.stopped && this.handler) this.wakeSoon();
    });
  }
  private sql(text: string): StatementSync {
    return this.statements.get(text);
  }

  async dispatch(job: DeliveryJob, dueAt: number): Promise<void> {
    const due = Math.round(dueAt);
    this.group.write(() =>
      this.sql("INSERT INTO jobs (message_id, retried, due_at) VALUES (?, ?, ?)").run(job.messageId, job.retried, due),
    );
    // A new job has the largest seq: it sorts after the cursor unless it is due before the cursor's time.
    if (this.cursor && due < this.cursor.due) this.cursor = undefined;
    if (dueAt < this.wakeAt) this.wake(dueAt);
  }

  start(handler: JobHandler): void {
    this.handler = handler;
    this.stopped = false;
    this.cursor = undefined;
    this.wake(this.clock.now());
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for the attempts in flight. Jobs cut off stay in the
   * table and run again after restart.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  private wake(at: number): void {
    if (this.stopped || !this.handler) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    const delay = Math.min(Math.max(0, at - this.clock.now()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.pump(), delay);
  }

  private pump(): void {
    this.wakeAt = Number.POSITIVE_INFINITY;
    if (this.stopped || !this.handler) return;
    // Only committed jobs start (see WriteGroup: nothing leaves the process before what led to it is durable).
    this.group.commit();
    const now = this.clock.now();
    const free = Math.min(this.maxInFlight - this.inFlight.size, PUMP_BATCH);
    let more = false;
    if (free > 0) {
      const cursor = this.cursor;
      const rows = (cursor
        ? this.sql(
            "SELECT seq, message_id, retried, due_at FROM jobs WHERE due_at <= ? AND (due_at, seq) > (?, ?) ORDER BY due_at, seq LIMIT ?",
          ).all(now, cursor.due, cursor.seq, free)
        : this.sql(
            "SELECT seq, message_id, retried, due_at FROM jobs WHERE due_at <= ? ORDER BY due_at, seq LIMIT ?",
          ).all(now, free + this.inFlight.size)) as unknown as JobRow[];
      for (const row of rows) {
        if (this.inFlight.size >= this.maxInFlight) break;
        if (!this.inFlight.has(row.seq)) this.run(row);
        this.cursor = { due: Number(row.due_at), seq: Number(row.seq) };
      }
      more = rows.length >= free;
    }
    // More are due: start them on a later turn, so requests that arrived meanwhile are served in between.
    if (more && this.inFlight.size < this.maxInFlight) return this.wake(now);
    if (this.inFlight.size >= this.maxInFlight) return; // a finishing job pumps again
    const next = this.sql("SELECT MIN(due_at) AS due FROM jobs WHERE due_at > ?").get(now) as
      { due: number | null } | undefined;
    if (next?.due != null) this.wake(Number(next.due));
  }

  private run(row: JobRow): void {
    this.inFlight.add(row.seq);
    const handler = this.handler as JobHandler;
    const rollbacks = this.group.rollbacks;
    handler({ messageId: row.message_id, retried: Number(row.retried) })
      .then(
        () => {
          // A group lost meanwhile may have held what the attempt wrote: keep the job, it runs again.
          if (this.group.rollbacks !== rollbacks) {
            this.cursor = undefined;
            return;
          }
          this.group.write(() => this.sql("DELETE FROM jobs WHERE seq = ?").run(row.seq));
        },
        (error: unknown) => {
          // Our own failure (not the destination's): keep the job and try again shortly.
          console.error(`delivery of ${row.message_id} failed inside Herald; retrying`, error);
          this.cursor = undefined; // its new due time is later, but read everything again to be sure
          return this.group.write(() =>
            this.sql("UPDATE jobs SET due_at = ? WHERE seq = ?").run(
              this.clock.now() + this.handlerFailureBackoffMs,
              row.seq,
            ),
          );
        },
      )
      .catch((error: unknown) => {
        // The job's own write failed (its group was lost): the job stays in the table and runs again.
        console.error(`could not settle the job of ${row.message_id}; it runs again`, error);
        this.cursor = undefined;
      })
      .finally(() => {
        this.inFlight.delete(row.seq);
        if (this.stopped && this.inFlight.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        else this.wakeSoon();
      });
  }

  private wakeSoon(): void {
    if (this.wakeAt > this.clock.now()) this.wake(this.clock.now());
  }
}
