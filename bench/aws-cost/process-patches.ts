// The two process-wide settings the cost bench changes, each confined to one function here because no
// option reaches them. Both return their undo.
/**
 * What the stack configures for its Lambdas (INFO logs, metrics on). Powertools builds the handlers'
 * logger and metrics from process.env when they are first imported, and offers no option to turn metrics
 * on afterwards, so these go into process.env before emulated AWS imports the handlers (it defaults them
 * to quiet otherwise; the service and namespace it takes from the stack).
 */
export function powertoolsAsDeployed(): () => void {
  const before = { ...process.env };
  Object.assign(process.env, {
    POWERTOOLS_METRICS_DISABLED: "false",
    POWERTOOLS_LOG_LEVEL: "INFO",
  });
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
    Object.assign(process.env, before);
  };
}

export interface MovableClock {
  /** From now on, Date.now reads `epochMs` plus the real time passed since. */
  jumpTo(epochMs: number): void;
  /** Back to real time; Date.now is the original again. */
  restore(): void;
}

/**
 * The process clock, movable (delay2h jumps two hours ahead). Herald's Lambda context, the Scheduler
 * stand-in and fauxqs (the SQS emulator, in this process: delays and visibility) all read Date.now and
 * fauxqs takes no clock, so Date.now itself moves. Installed before anything is built, so that code that
 * keeps a reference to Date.now (SqsDispatcher's default `now`) gets this one too.
 */
export function movableProcessClock(): MovableClock {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  return {
    jumpTo: (epochMs) => {
      offset = epochMs - realNow();
    },
    restore: () => {
      offset = 0; // anything that kept the movable clock reads real time from now on
      Date.now = realNow;
    },
  };
}
