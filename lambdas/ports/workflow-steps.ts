/** One entry of a workflow run's step log: a message published for the run, in acceptance order. */
export interface WorkflowStep {
  /** 0 for the trigger (the initial payload), then 1, 2, … without gaps. */
  seq: number;
  messageId: string;
  /** `Upstash-Workflow-CallType` as published: "step" (the default), "toCallback", … */
  callType: string;
  body: Uint8Array;
  createdAt: number;
}

/** The step logs of workflow runs (docs/workflows.md): appended under concurrency, read in order. */
export interface WorkflowSteps {
  /**
   * Appends at the next seq of the run (0 when it has none), gap-free when several append at once, and
   * returns that seq.
   */
  appendStep(runId: string, step: Omit<WorkflowStep, "seq">): Promise<number>;
  /** The run's steps with seq ≤ `upTo` (all of them without it), in seq order, read consistently. */
  listSteps(runId: string, upTo?: number): Promise<WorkflowStep[]>;
}
