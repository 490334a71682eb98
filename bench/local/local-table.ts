// The local bench's figures as a table, beside their ceilings and the targets they are read against.
import type { LocalBenchResult } from "../local-bench.ts";

/** The targets from the issue, stated beside the figures (not asserted). */
export const LOCAL_TARGETS = {
  publish_ratio: { min: 0.6, text: "publish >= 60% of the bare node:http ceiling" },
  e2e_ratio: { min: 0.5, text: "end to end >= 50% of the bare relay" },
  e2e_batch_ratio: { min: 0.5, text: "batch end to end >= 50% of the bare relay" },
  publish_p99_ms_at_1000: { max: 10, text: "p99 publish latency <= 10 ms at 1,000 req/s" },
  delay_lateness_p99_ms: { max: 1000, text: "delay p99 lateness <= 1 s" },
} as const;

/** A table of the figures beside their ceilings and targets. */
export function formatLocalTable(r: LocalBenchResult): string {
  const status = (key: keyof typeof LOCAL_TARGETS): string => {
    const target = LOCAL_TARGETS[key];
    const value = r[key];
    const met = "min" in target ? value >= target.min : value <= target.max;
    return `${met ? "met" : "MISSED"} (target: ${target.text})`;
  };
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
  const rows: [string, string, string, string][] = [
    ["figure", "Herald", "ceiling", "ratio / target"],
    [
      "publish, req/s (deliveries deferred)",
      `${r.publish_rps}`,
      `${r.publish_ceiling_rps}`,
      `${pct(r.publish_ratio)} ${status("publish_ratio")}`,
    ],
    ["publish, req/s (delivering meanwhile)", `${r.publish_with_delivery_rps}`, "", ""],
    ["  server CPU per publish, us", `${r.publish_cpu_us}`, `${r.publish_ceiling_cpu_us}`, ""],
    [
      "publish latency at 1,000 req/s, p50 / p99 ms",
      `${r.publish_p50_ms_at_1000} / ${r.publish_p99_ms_at_1000}`,
      `${r.publish_ceiling_p50_ms_at_1000} / ${r.publish_ceiling_p99_ms_at_1000}`,
      status("publish_p99_ms_at_1000"),
    ],
    [
      "  the same, deliveries deferred, p50 / p99 ms",
      `${r.publish_deferred_p50_ms_at_1000} / ${r.publish_deferred_p99_ms_at_1000}`,
      "",
      "",
    ],
    [
      `end to end, msg/s (${r.e2e_messages} single publishes)`,
      `${r.e2e_mps}`,
      `${r.e2e_relay_mps}`,
      `${pct(r.e2e_ratio)} ${status("e2e_ratio")}`,
    ],
    ["  server CPU per message, us", `${r.e2e_cpu_us}`, `${r.e2e_relay_cpu_us}`, ""],
    [
      `end to end, msg/s (batches of ${r.e2e_batch_size}, ${r.e2e_batch_messages} messages)`,
      `${r.e2e_batch_mps}`,
      `${r.e2e_batch_relay_mps}`,
      `${pct(r.e2e_batch_ratio)} ${status("e2e_batch_ratio")}`,
    ],
    [
      `delay lateness, p50 / p99 / max ms (${r.delay_messages} msgs, ${r.delay_min_s}-${r.delay_max_s} s)`,
      `${r.delay_lateness_p50_ms} / ${r.delay_lateness_p99_ms} / ${r.delay_lateness_max_ms}`,
      "",
      status("delay_lateness_p99_ms"),
    ],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const lines = rows.map((row) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell)).join("  "));
  lines.splice(1, 0, "-".repeat(lines[0]?.length ?? 0));
  lines.push(
    "",
    `medians of ${r.runs} run(s)${r.quick ? " (quick)" : ""}, ${r.connections} client connections, ` +
      `${r.errors} failed requests, ${r.duration_s} s, load average ${r.load_avg_1m} before (2 cores)`,
  );
  return lines.join("\n");
}
