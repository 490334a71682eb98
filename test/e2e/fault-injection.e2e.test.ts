// A small run of the fault-injection harness (bench/faults.ts runs the full one, 2,000+ messages): a
// mixed load through emulated AWS while 5% of the Lambdas' AWS calls fail (throttling, 500, 503, answers
// lost after the request landed) and the Scheduler and Secrets Manager stand-ins fail alike. Every
// message that got a 2xx is delivered, and every callback made.
import { expect, it } from "vitest";
import { runFaultInjection } from "../../bench/faults/run.ts";

it("delivers every accepted message and callback while 5% of AWS calls fail [aws-local]", async () => {
  const lines: string[] = [];
  const result = await runFaultInjection({
    rate: 0.05,
    scale: 0.1,
    seed: 7,
    settleMs: 120_000,
    log: (line) => lines.push(line),
  });
  console.log(lines.join("\n"));
  const injected = Object.values(result.injected).reduce((a, b) => a + b, 0);
  expect(injected).toBeGreaterThan(20); // faults did happen
  expect(result.publishes.accepted).toBeGreaterThan(150);
  expect(result.stuck).toEqual([]);
  expect(result.messages.missing).toBe(0);
  expect(result.callbacks.delivered).toBe(result.callbacks.expected);
}, 240_000);
