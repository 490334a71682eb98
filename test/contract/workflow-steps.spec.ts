// The WorkflowSteps contract (lambdas/ports/workflow-steps.ts), on every store: a run's step log is
// gap-free and in acceptance order however many append at once, and a large body comes back whole.
import { describe, expect, it } from "vitest";
import type { StoreFixture } from "./store.spec.ts";
import { sampleMessage } from "./store.spec.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (body: Uint8Array): string => new TextDecoder().decode(body);

export function workflowStepsContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`WorkflowSteps contract: ${name}`, () => {
    it("numbers a run's steps from 0 without gaps when they are appended at once", async () => {
      const { store, close } = await open();
      try {
        const runId = `wfr_contract_${Date.now()}`;
        expect(await store.listSteps(runId)).toEqual([]);
        const first = await store.appendStep(runId, {
          messageId: "m0",
          callType: "step",
          body: bytes("init"),
          createdAt: 1,
        });
        expect(first).toBe(0);
        // Parallel steps: 12 appends racing (each one a read of the last step and a conditional write on AWS).
        const seqs = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.appendStep(runId, {
              messageId: `m${i + 1}`,
              callType: "step",
              body: bytes(`s${i + 1}`),
              createdAt: 2,
            }),
          ),
        );
        expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        const steps = await store.listSteps(runId);
        expect(steps.map((step) => step.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i));
        // Each seq is the one its append answered, with its own body.
        for (const [i, seq] of seqs.entries()) {
          const step = steps[seq];
          expect([step?.messageId, text(step?.body ?? new Uint8Array())]).toEqual([`m${i + 1}`, `s${i + 1}`]);
        }
        expect(steps[0]).toMatchObject({ messageId: "m0", callType: "step", createdAt: 1 });
        expect(text(steps[0]?.body ?? new Uint8Array())).toBe("init");
      } finally {
        await close();
      }
    });

    it("lists the steps up to a seq, and keeps runs apart", async () => {
      const { store, close } = await open();
      try {
        const a = `wfr_a_${Date.now()}`;
        const b = `wfr_b_${Date.now()}`;
        for (const i of [0, 1, 2, 3]) {
          await store.appendStep(a, {
            messageId: `a${i}`,
            callType: i === 2 ? "toCallback" : "step",
            body: bytes(`a${i}`),
            createdAt: i,
          });
        }
        await store.appendStep(b, { messageId: "b0", callType: "step", body: bytes("b0"), createdAt: 0 });
        expect((await store.listSteps(a, 2)).map((step) => [step.messageId, step.callType])).toEqual([
          ["a0", "step"],
          ["a1", "step"],
          ["a2", "toCallback"],
        ]);
        expect((await store.listSteps(a, 0)).map((step) => step.messageId)).toEqual(["a0"]);
        expect((await store.listSteps(b)).map((step) => step.messageId)).toEqual(["b0"]);
      } finally {
        await close();
      }
    });

    it("appending the last step's message again answers its seq (a publish resumed after a crash)", async () => {
      const { store, close } = await open();
      try {
        const runId = `wfr_again_${Date.now()}`;
        await store.appendStep(runId, { messageId: "first", callType: "step", body: bytes("x"), createdAt: 0 });
        const seq = await store.appendStep(runId, {
          messageId: "second",
          callType: "step",
          body: bytes("y"),
          createdAt: 0,
        });
        expect(
          await store.appendStep(runId, { messageId: "second", callType: "step", body: bytes("y"), createdAt: 0 }),
        ).toBe(seq);
        expect((await store.listSteps(runId)).map((step) => step.messageId)).toEqual(["first", "second"]);
      } finally {
        await close();
      }
    });

    it("gives back a large step body whole (read from its message where the step item cannot hold it)", async () => {
      const { store, close } = await open();
      try {
        const runId = `wfr_big_${Date.now()}`;
        const body = new Uint8Array(300 * 1024).map((_, i) => (i * 7919) % 251);
        const message = sampleMessage({ body });
        expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [])).toBe(true);
        await store.appendStep(runId, { messageId: message.messageId, callType: "step", body, createdAt: 0 });
        const [step] = await store.listSteps(runId);
        expect(step?.body.byteLength).toBe(body.byteLength);
        expect(Buffer.from(step?.body ?? new Uint8Array()).equals(Buffer.from(body))).toBe(true);
      } finally {
        await close();
      }
    });
  });
}
