// The Dispatcher contract: a dispatched job runs no earlier than its due time, at least once, and a job
// whose handler failed inside Herald is run again.
import { describe, expect, it } from "vitest";
import type { DeliveryJob, Dispatcher } from "../../lambdas/ports.ts";

export interface DispatcherFixture {
  dispatcher: Dispatcher;
  /** Starts consuming with the handler. */
  consume(handler: (job: DeliveryJob) => Promise<unknown>): void;
  close(): Promise<void>;
}

export function dispatcherContract(name: string, open: () => Promise<DispatcherFixture>): void {
  describe(`Dispatcher contract: ${name}`, () => {
    it("runs due jobs before delayed ones, and delayed jobs not before they are due", async () => {
      const fixture = await open();
      try {
        const ran = new Map<string, number>();
        const done = new Promise<void>((resolve) => {
          fixture.consume(async (job) => {
            ran.set(`${job.messageId}/${job.retried}`, Date.now());
            if (ran.size === 3) resolve();
          });
        });
        const start = Date.now();
        await fixture.dispatcher.dispatch({ messageId: "now", retried: 0 }, start);
        await fixture.dispatcher.dispatch({ messageId: "later", retried: 2 }, start + 700);
        await fixture.dispatcher.dispatch({ messageId: "past", retried: 1 }, start - 10_000);
        await done;
        const later = ran.get("later/2") ?? 0;
        expect(later).toBeGreaterThanOrEqual(start + 700);
        expect(ran.get("now/0")).toBeLessThan(later);
        expect(ran.get("past/1")).toBeLessThan(later);
      } finally {
        await fixture.close();
      }
    });

    it("runs a job again when its handler failed", async () => {
      const fixture = await open();
      try {
        let calls = 0;
        await new Promise<void>((resolve) => {
          fixture.consume(async () => {
            calls++;
            if (calls === 1) throw new Error("store unavailable");
            resolve();
          });
          void fixture.dispatcher.dispatch({ messageId: "flaky", retried: 0 }, Date.now());
        });
        expect(calls).toBe(2);
      } finally {
        await fixture.close();
      }
    }, 15_000);
  });
}
