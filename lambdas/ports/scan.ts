// How the time-ordered lists (the event log, the DLQ) are read a page at a time.

/** Where a scan resumes: items strictly after this position in scan order. `key` breaks ties within a ms. */
export interface ScanPosition {
  time: number;
  key?: string;
}

export interface ScanOptions {
  order: "earliestFirst" | "latestFirst";
  after?: ScanPosition;
  /** Inclusive time bounds, epoch ms. */
  fromTime?: number;
  toTime?: number;
}

export interface Positioned<T> {
  position: ScanPosition;
  item: T;
}
