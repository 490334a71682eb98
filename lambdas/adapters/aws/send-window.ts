// A delivery batch's send window (docs/architecture.md §5, "Sends are batched"). The records of a batch
// run concurrently, and each may send jobs (a retry, a callback, a schedule's messages): one job sent
// alone is $0.40 per million, ten in a SendMessageBatch $0.04 each. A send made in a window waits for
// the others — until every job of the batch still running is itself waiting on a send (then a short
// grace for the job's own parallel branches: SqsSendBatcher), until ten wait, or for the window's cap at
// most (a job still busy, e.g. with its attempt, does not hold the others' sends longer).
// AsyncLocalStorage carries the window and the job through their awaits; no library does this.
import { AsyncLocalStorage } from "node:async_hooks";

/** A job of a window: a record (or a FIFO group's records, one after another) being processed. */
interface WindowJob {
  /** Its sends not answered yet: while it waits on one, it can make no other. */
  sending: number;
}

export class SendWindow {
  /** The longest a send waits for others. */
  readonly capMs: number;
  private readonly jobs = new Set<WindowJob>();
  private readonly watchers = new Set<() => void>();

  constructor(capMs: number) {
    this.capMs = capMs;
  }

  /** True when no job of the window could add a send now: each one running waits on a send of its own. */
  get settled(): boolean {
    for (const job of this.jobs) if (job.sending === 0) return false;
    return true;
  }

  /** Calls `check` whenever a job ends or starts waiting on a send, until the returned function is called. */
  watch(check: () => void): () => void {
    this.watchers.add(check);
    return () => this.watchers.delete(check);
  }

  add(job: WindowJob): void {
    this.jobs.add(job);
  }

  end(job: WindowJob): void {
    this.jobs.delete(job);
    this.changed();
  }

  changed(): void {
    for (const check of [...this.watchers]) check();
  }
}

interface WindowScope {
  window: SendWindow;
  job?: WindowJob;
}

const scopes = new AsyncLocalStorage<WindowScope>();

/**
 * Runs `work` (a delivery batch) in a send window of at most `capMs`. A request's own sends (the API's)
 * need none: they are made in one turn of the event loop, and a publish should not wait.
 */
export function withSendWindow<T>(capMs: number, work: () => Promise<T>): Promise<T> {
  return scopes.run({ window: new SendWindow(capMs) }, work);
}

/**
 * Runs each of `works` as one job of the current send window (if any): the window waits for their sends.
 * All are counted before any starts, so the first to send does not find itself alone.
 */
export function asWindowJobs<T>(works: (() => Promise<T>)[]): Promise<T>[] {
  const scope = scopes.getStore();
  if (!scope) return works.map((work) => work());
  const jobs = works.map(() => ({ sending: 0 }));
  for (const job of jobs) scope.window.add(job);
  return works.map((work, i) => {
    const job = jobs[i] as WindowJob;
    return scopes.run({ window: scope.window, job }, work).finally(() => scope.window.end(job));
  });
}

/**
 * What a sender needs of the current window: the window, and the bracket of one send (counted as its
 * job's until answered). Undefined outside a window.
 */
export function currentSendWindow(): { window: SendWindow; sending: () => () => void } | undefined {
  const scope = scopes.getStore();
  if (!scope) return undefined;
  return {
    window: scope.window,
    sending: () => {
      const job = scope.job;
      if (job) job.sending++;
      scope.window.changed();
      return () => {
        if (job) job.sending--;
      };
    },
  };
}
