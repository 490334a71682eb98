import type { DlqEntry } from "../core/message.ts";
import type { Positioned, ScanOptions } from "./scan.ts";

/** The dead-letter queue: messages whose retries ran out, with the last response. */
export interface DlqStore {
  /** Idempotent by dlqId. */
  putDlq(entry: DlqEntry): Promise<void>;
  getDlq(dlqId: string): Promise<DlqEntry | undefined>;
  /** Returns false when there was no such entry. */
  deleteDlq(dlqId: string): Promise<boolean>;
  scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>>;
}
