// What a handler invocation would have taken at AWS latency rather than the emulators': the SDK requests
// made inside it are timed (sdk-counting.ts), and their waits replaced by an assumed AWS latency.
import { currentInvocation, type Invocation } from "../../emulation/emulated-aws-server.ts";
import { ASSUMED_AWS_LATENCY_MS } from "../prices-us-east-1.ts";

/**
 * AWS requests made inside each handler invocation (start, end, assumed AWS latency), to work out what the
 * invocation would have taken at AWS latency: its wall time minus the time it waited on the emulators, plus
 * the assumed latency once per stretch of waiting (overlapping requests wait together).
 */
const waits = new WeakMap<Invocation, { start: number; end: number; assumed: number }[]>();

export function recordWait(service: string, start: number, end: number): void {
  const invocation = currentInvocation();
  if (!invocation) return;
  const list = waits.get(invocation) ?? [];
  list.push({ start, end, assumed: ASSUMED_AWS_LATENCY_MS[service] ?? 10 });
  waits.set(invocation, list);
}

export function msAtAwsLatency(invocation: Invocation, wallMs: number): number {
  const list = (waits.get(invocation) ?? []).sort((a, b) => a.start - b.start);
  let waited = 0;
  let assumed = 0;
  let stretch: { start: number; end: number; assumed: number } | undefined;
  for (const w of [...list, undefined]) {
    if (stretch && w && w.start <= stretch.end) {
      stretch.end = Math.max(stretch.end, w.end);
      stretch.assumed = Math.max(stretch.assumed, w.assumed);
      continue;
    }
    if (stretch) {
      waited += stretch.end - stretch.start;
      assumed += stretch.assumed;
    }
    stretch = w && { ...w };
  }
  return Math.max(1, wallMs - waited + assumed);
}
