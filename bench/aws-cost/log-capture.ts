// What the Lambdas write to stdout/stderr (Powertools Logger and EMF lines), counted as CloudWatch Logs
// bytes into the current meter, with the metric names and dimension sets the EMF lines carry.
import { utf8, type Meter } from "./meter.ts";

/** What the Lambdas write to stdout/stderr (Powertools Logger and EMF lines) while capturing. */
export class LogCapture {
  private readonly original = { out: process.stdout.write, err: process.stderr.write };
  private passthrough = false;
  readonly metricNames = new Set<string>();
  readonly dimensionSets = new Set<string>();
  readonly errors: string[] = [];

  private readonly meter: () => Meter;

  constructor(meter: () => Meter) {
    this.meter = meter;
  }

  start(): void {
    const capture = (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        if (this.passthrough) return original.call(stream, chunk as string, ...(rest as []));
        this.record(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = capture(process.stdout, this.original.out);
    process.stderr.write = capture(process.stderr, this.original.err);
  }

  stop(): void {
    process.stdout.write = this.original.out;
    process.stderr.write = this.original.err;
  }

  /** Runs `write` with the real stdout (the bench's own output is not Lambda log). */
  unCaptured(write: () => void): void {
    this.passthrough = true;
    try {
      write();
    } finally {
      this.passthrough = false;
    }
  }

  private record(text: string): void {
    const m = this.meter();
    for (const line of text.split("\n")) {
      if (line.length === 0) continue;
      m.functionLogBytes += utf8(line);
      m.functionLogEvents++;
      if (line.startsWith('{"_aws"')) {
        m.emfLines++;
        try {
          const emf = JSON.parse(line) as {
            _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
          };
          for (const directive of emf._aws.CloudWatchMetrics) {
            for (const metric of directive.Metrics) this.metricNames.add(metric.Name);
            for (const dims of directive.Dimensions) this.dimensionSets.add(JSON.stringify([...dims].sort()));
          }
        } catch {
          // not EMF after all
        }
      } else if (/"level":"(ERROR|CRITICAL)"/.test(line) && this.errors.length < 5) {
        this.errors.push(line.slice(0, 400));
      }
    }
  }
}
