// The machine a benchmark ran on, as every results file records it.
import { cpus, totalmem } from "node:os";

export function machineInfo(): { cpus: number; cpu: string; memory_gib: number; node: string; platform: string } {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
