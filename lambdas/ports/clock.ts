export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Waits; a clock without it (a test's) makes core skip its short waits. */
  sleep?(ms: number): Promise<void>;
}
