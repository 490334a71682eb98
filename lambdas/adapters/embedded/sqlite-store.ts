import type { DatabaseSync, StatementSync, SQLInputValue } from "node:sqlite";
import type { DlqEntry, LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "../../core/message.ts";
import type {
  LoggedEvent,
  Positioned,
  QueueEntry,
  RecordKind,
  RecordPutOptions,
  RecordSwap,
  ScanOptions,
  Store,
  Versioned,
  WorkflowStep,
} from "../../ports.ts";
import { WORKFLOW_STEP_HORIZON_MS } from "../../core/workflow.ts";
import { mergeSorted } from "../merge-sorted.ts";
import {
  decodeMessage,
  encodeMeta,
  toBytes,
  eventDetail,
  fromDlqRecord,
  scanWindow,
  toDlqRecord,
  withDetail,
  type DlqRecord,
  type EventDetail,
  type ScanWindow,
} from "../store-codec.ts";
import { Statements } from "./sqlite-statements.ts";
import { writeGroup, type WriteGroup } from "./write-group.ts";

const CHUNK = 200;

type Row = Record<string, SQLInputValue>;

/** Where a scan in (time, seq) order resumes: rows strictly after this one (`key`: its seq). */

/**
 * Builds the keyset condition for a scan ordered by (timeColumn, seq) in either direction, so paging
 * with a cursor never skips or repeats an item even when many share a millisecond.
 */
function scanCondition<K extends number | string>(
  window: ScanWindow<K>,
  timeColumn: string,
  seqColumn: string,
  after: ScanWindow<K>["after"],
): { where: string[]; args: SQLInputValue[]; orderBy: string } {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  if (window.fromTime !== undefined) {
    where.push(`${timeColumn} >= ?`);
    args.push(window.fromTime);
  }
  if (window.toTime !== undefined) {
    where.push(`${timeColumn} <= ?`);
    args.push(window.toTime);
  }
  if (after) {
    const cmp = window.desc ? "<" : ">";
    where.push(`(${timeColumn} ${cmp} ? OR (${timeColumn} = ? AND ${seqColumn} ${cmp} ?))`);
    args.push(after.time, after.time, after.key);
  }
  const dir = window.desc ? "DESC" : "ASC";
  return { where, args, orderBy: `${timeColumn} ${dir}, ${seqColumn} ${dir}` };
}

function parseSeq(key: string): number | undefined {
  const n = Number(key);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The log's order: events and the CREATED entries kept in message rows draw their `seq` from one counter
 * per connection, so the log reads back in (time, seq) order with ties in write order, as when every entry
 * was an event row. It starts past every seq in the file (one connection per data directory, see
 * lockDataDir); finding the highest reads the messages_log index once, at start.
 */
class LogSequence {
  private next: number;
  constructor(db: DatabaseSync) {
    const highest = (sql: string): number => Number(db.prepare(sql).get()?.n ?? 0);
    this.next =
      Math.max(
        highest("SELECT MAX(seq) AS n FROM events"),
        highest("SELECT seq AS n FROM sqlite_sequence WHERE name = 'events'"),
        highest("SELECT MAX(log_seq) AS n FROM messages WHERE log_seq IS NOT NULL"),
      ) + 1;
  }
  take(): number {
    return this.next++;
  }
}
const logSequences = new WeakMap<DatabaseSync, LogSequence>();
function logSequence(db: DatabaseSync): LogSequence {
  let sequence = logSequences.get(db);
  if (!sequence) {
    sequence = new LogSequence(db);
    logSequences.set(db, sequence);
  }
  return sequence;
}

/** A CREATED event that says nothing more than that its message was created (what createMessage is given). */
const isPlainCreated = (event: LogEvent, messageId: string): boolean =>
  event.state === "CREATED" &&
  event.messageId === messageId &&
  event.error === undefined &&
  event.nextDeliveryTime === undefined &&
  event.response === undefined;

interface SeqRow {
  seq: number;
  value: Positioned<LoggedEvent>;
}

/** The local Store: messages, event log and DLQ in one SQLite file. */
export class SqliteStore implements Store {
  private readonly statements: Statements;
  /** Every write joins the connection's group commit (see WriteGroup). */
  private readonly group: WriteGroup;
  private readonly logSeq: LogSequence;
  constructor(db: DatabaseSync) {
    this.statements = new Statements(db);
    this.group = writeGroup(db);
    this.logSeq = logSequence(db);
  }
  private sql(text: string): StatementSync {
    return this.statements.get(text);
  }

  // The message's CREATED log entry is kept in its own row (log_time, log_seq) rather than as an event row:
  // one row and three index entries fewer per publish. scanEvents reads both, in one order.
  async createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean> {
    // A CREATED entry given first goes into the row; the other events (none for a publish) are event rows.
    const created = events[0] !== undefined && isPlainCreated(events[0], message.messageId) ? events[0] : undefined;
    const rest = created ? events.slice(1) : events;
    const work = (): boolean => {
      const result = this.sql(
        "INSERT OR IGNORE INTO messages (id, created_at, updated_at, state, retried, meta, body, log_time, log_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        message.messageId,
        message.createdAt,
        message.createdAt,
        status.state,
        status.retried,
        encodeMeta(message),
        message.body,
        created ? created.time : null,
        created ? this.logSeq.take() : null,
      );
      if (result.changes !== 1) return false;
      this.insertEvents(rest);
      return true;
    };
    // A publish writes only the message row: one statement needs no SAVEPOINT (see WriteGroup.atomic).
    return rest.length === 0 ? this.group.write(work) : this.group.atomic(work);
  }

  async getMessage(messageId: string): Promise<StoredMessage | undefined> {
    const row = this.sql("SELECT state, retried, meta, body FROM messages WHERE id = ?").get(messageId);
    if (!row) return undefined;
    return {
      message: decodeMessage(row.meta as string, row.body),
      status: { state: row.state as MessageState, retried: Number(row.retried) },
    };
  }

  async updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]) {
    const time = events[0]?.time ?? Date.now();
    return this.group.atomic(() => {
      const result = this.sql(
        "UPDATE messages SET state = ?, retried = ?, updated_at = ? WHERE id = ? AND state = ? AND retried = ?",
      ).run(next.state, next.retried, time, messageId, expected.state, expected.retried);
      if (result.changes !== 1) return false;
      this.insertEvents(events);
      return true;
    });
  }

  async appendEvents(events: LogEvent[], carried: Message[] = []): Promise<void> {
    this.group.atomic(() => {
      // A carried message is kept as a message row (the log's entries join it), in its last logged state.
      for (const message of carried) {
        const own = events.filter(
          (e) => e.messageId === message.messageId && e.state !== "ACTIVE" && e.state !== "ERROR",
        );
        const state = (own.at(-1)?.state ?? "CREATED") as MessageState;
        this.sql(
          "INSERT OR IGNORE INTO messages (id, created_at, updated_at, state, retried, meta, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(
          message.messageId,
          message.createdAt,
          own.at(-1)?.time ?? message.createdAt,
          state,
          0,
          encodeMeta(message),
          message.body,
        );
      }
      this.insertEvents(events);
    });
  }

  /** Inserts log events, each with the next seq. */
  private insertEvents(events: LogEvent[]): void {
    if (events.length === 0) return;
    const insert = this.sql(
      "INSERT INTO events (seq, time, message_id, state, detail, response_body) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const event of events) {
      const detail = eventDetail(event);
      insert.run(
        this.logSeq.take(),
        event.time,
        event.messageId,
        event.state,
        detail ? JSON.stringify(detail) : null,
        event.response?.body ?? null,
      );
    }
  }

  /** Event rows and the CREATED entries of message rows, merged in log order: (time, seq). */
  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>> {
    const sign = options.order === "latestFirst" ? -1 : 1;
    const merged = mergeSorted(
      [this.scanEventRows(options), this.scanCreatedEntries(options)],
      (a, b) => sign * (a.value.position.time - b.value.position.time || a.seq - b.seq),
    );
    return (async function* () {
      for await (const row of merged) yield row.value;
    })();
  }

  private scanEventRows(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<SeqRow> {
    return this.scanLog(
      options,
      "e.time",
      "e.seq",
      "e.message_id",
      (where) =>
        `SELECT e.seq, e.time, e.message_id, e.state, e.detail, e.response_body, m.meta, m.body
           FROM events e LEFT JOIN messages m ON m.id = e.message_id
           ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`,
    );
  }

  private scanCreatedEntries(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<SeqRow> {
    return this.scanLog(
      options,
      "m.log_time",
      "m.log_seq",
      "m.id",
      (where) =>
        `SELECT m.log_seq AS seq, m.log_time AS time, m.id AS message_id, 'CREATED' AS state, NULL AS detail,
                NULL AS response_body, m.meta, m.body
           FROM messages m WHERE m.log_seq IS NOT NULL ${where.map((w) => `AND ${w}`).join(" ")}`,
    );
  }

  /** One source of the log, read CHUNK rows at a time in (time, seq) order from `after` on. */
  private async *scanLog(
    options: ScanOptions & { messageIds?: string[] },
    timeColumn: string,
    seqColumn: string,
    messageIdColumn: string,
    select: (where: string[]) => string,
  ): AsyncIterable<SeqRow> {
    const window = scanWindow(options, parseSeq);
    let after = window.after;
    for (;;) {
      const { where, args, orderBy } = scanCondition(window, timeColumn, seqColumn, after);
      if (options.messageIds) {
        where.push(`${messageIdColumn} IN (${options.messageIds.map(() => "?").join(", ")})`);
        args.push(...options.messageIds);
      }
      const rows = this.sql(`${select(where)} ORDER BY ${orderBy} LIMIT ${CHUNK}`).all(...args) as Row[];
      for (const row of rows) {
        const event = withDetail(
          { time: Number(row.time), messageId: row.message_id as string, state: row.state as LogEvent["state"] },
          row.detail ? (JSON.parse(row.detail as string) as EventDetail) : undefined,
          row.response_body,
        );
        const item: LoggedEvent = { event };
        if (row.meta) item.message = decodeMessage(row.meta as string, row.body);
        yield { seq: Number(row.seq), value: { position: { time: event.time, key: String(row.seq) }, item } };
      }
      if (rows.length < CHUNK) return;
      const last = rows[rows.length - 1] as Row;
      after = { time: Number(last.time), key: Number(last.seq) };
    }
  }

  // Walks the primary key: message ids start with their creation time (ids.ts), so this is oldest first,
  // without an index on the state that every publish would pay for. Only a bulk cancel reads this.
  async *scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage> {
    let after: string | undefined;
    const marks = states.map(() => "?").join(", ");
    for (;;) {
      const rows = this.sql(
        `SELECT id, state, retried, meta FROM messages WHERE state IN (${marks})
           ${after !== undefined ? "AND id > ?" : ""} ORDER BY id LIMIT ${CHUNK}`,
      ).all(...states, ...(after !== undefined ? [after] : [])) as Row[];
      for (const row of rows) {
        yield {
          message: decodeMessage(row.meta as string, row.body),
          status: { state: row.state as MessageState, retried: Number(row.retried) },
        };
      }
      if (rows.length < CHUNK) return;
      after = (rows[rows.length - 1] as Row).id as string;
    }
  }

  async putDlq(entry: DlqEntry): Promise<void> {
    this.group.write(() =>
      this.sql("INSERT OR IGNORE INTO dlq (dlq_id, failed_at, entry, body, response_body) VALUES (?, ?, ?, ?, ?)").run(
        entry.dlqId,
        entry.failedAt,
        JSON.stringify(toDlqRecord(entry)),
        entry.message.body,
        entry.response?.body ?? null,
      ),
    );
  }

  private toDlqEntry(row: Row): DlqEntry {
    return fromDlqRecord(JSON.parse(row.entry as string) as DlqRecord, row.body, row.response_body);
  }

  async getDlq(dlqId: string): Promise<DlqEntry | undefined> {
    const row = this.sql("SELECT entry, body, response_body FROM dlq WHERE dlq_id = ?").get(dlqId);
    return row ? this.toDlqEntry(row as Row) : undefined;
  }

  async deleteDlq(dlqId: string): Promise<boolean> {
    return this.group.write(() => this.sql("DELETE FROM dlq WHERE dlq_id = ?").run(dlqId).changes === 1);
  }

  async *scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>> {
    const rows = this.scanByTime(
      scanWindow(options, parseSeq),
      "failed_at",
      "seq",
      Number,
      (where, orderBy) =>
        `SELECT seq, failed_at, entry, body, response_body FROM dlq
         ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${orderBy} LIMIT ${CHUNK}`,
    );
    for (const row of rows) {
      yield { position: { time: Number(row.failed_at), key: String(row.seq) }, item: this.toDlqEntry(row) };
    }
  }

  /**
   * Rows in time order (ties by `keyColumn`) from the window, read CHUNK at a time: `select` makes the
   * statement from the window's conditions and order.
   */
  private *scanByTime<K extends number | string>(
    window: ScanWindow<K>,
    timeColumn: string,
    keyColumn: string,
    keyOf: (value: unknown) => K,
    select: (where: string[], orderBy: string) => string,
    leadingArgs: SQLInputValue[] = [],
  ): Iterable<Row> {
    let after = window.after;
    for (;;) {
      const { where, args, orderBy } = scanCondition(window, timeColumn, keyColumn, after);
      const rows = this.sql(select(where, orderBy)).all(...leadingArgs, ...args) as Row[];
      yield* rows;
      if (rows.length < CHUNK) return;
      const last = rows[rows.length - 1] as Row;
      after = { time: Number(last[timeColumn]), key: keyOf(last[keyColumn]) };
    }
  }

  // ---- records, counters, queue entries, deduplication ------------------------------------------

  async getRecord<T>(kind: RecordKind, name: string): Promise<Versioned<T> | undefined> {
    return this.readRecord<T>(kind, name);
  }

  private readRecord<T>(kind: RecordKind, name: string): Versioned<T> | undefined {
    const row = this.sql("SELECT version, value FROM records WHERE kind = ? AND name = ?").get(kind, name);
    return row ? { value: JSON.parse(row.value as string) as T, version: Number(row.version) } : undefined;
  }

  async swapRecord<T>(
    kind: RecordKind,
    name: string,
    value: T,
    expectedVersion: number | undefined,
    options: RecordPutOptions = {},
  ): Promise<RecordSwap<T>> {
    const text = JSON.stringify(value);
    const expires = options.expiresAt ?? null;
    const listed = options.listedAt ?? null;
    const write = () =>
      expectedVersion === undefined
        ? this.sql(
            "INSERT OR IGNORE INTO records (kind, name, version, value, expires_at, listed_at) VALUES (?, ?, 1, ?, ?, ?)",
          ).run(kind, name, text, expires, listed)
        : this.sql(
            "UPDATE records SET version = version + 1, value = ?, expires_at = ?, listed_at = ? WHERE kind = ? AND name = ? AND version = ?",
          ).run(text, expires, listed, kind, name, expectedVersion);
    if (this.group.write(write).changes === 1) return { written: true };
    // Read in the same synchronous step as the failed write, on the same connection: the row it met.
    return { written: false, current: this.readRecord<T>(kind, name) };
  }

  async deleteRecord(kind: RecordKind, name: string, expectedVersion?: number): Promise<boolean> {
    return this.group.write(
      () =>
        (expectedVersion === undefined
          ? this.sql("DELETE FROM records WHERE kind = ? AND name = ?").run(kind, name)
          : this.sql("DELETE FROM records WHERE kind = ? AND name = ? AND version = ?").run(kind, name, expectedVersion)
        ).changes === 1,
    );
  }

  async *scanRecords<T>(kind: RecordKind, options: ScanOptions): AsyncIterable<Positioned<T>> {
    const window = scanWindow(options, (key) => key);
    const rows = this.scanByTime(
      window,
      "listed_at",
      "name",
      String,
      (where, orderBy) =>
        `SELECT name, listed_at, value FROM records WHERE kind = ? AND listed_at IS NOT NULL
           ${where.length ? `AND ${where.join(" AND ")}` : ""} ORDER BY ${orderBy} LIMIT ${CHUNK}`,
      [kind],
    );
    for (const row of rows) {
      const position = { time: Number(row.listed_at), key: String(row.name) };
      yield { position, item: JSON.parse(row.value as string) as T };
    }
  }

  async listRecords<T>(kind: RecordKind, prefix?: string): Promise<T[]> {
    const rows = (
      prefix
        ? this.sql("SELECT value FROM records WHERE kind = ? AND substr(name, 1, ?) = ? ORDER BY name").all(
            kind,
            prefix.length,
            prefix,
          )
        : this.sql("SELECT value FROM records WHERE kind = ? ORDER BY name").all(kind)
    ) as Row[];
    return rows.map((row) => JSON.parse(row.value as string) as T);
  }

  async increment(counter: string): Promise<number> {
    const row = this.group.write(() =>
      this.sql(
        "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
      ).get(counter),
    );
    return Number(row?.value);
  }

  async putQueueEntry(queue: string, entry: Pick<QueueEntry, "seq" | "messageId" | "claimedAt">): Promise<boolean> {
    return this.group.write(() => {
      const { changes } = this.sql(
        "INSERT OR IGNORE INTO queue_entries (queue, seq, message_id, parked, claimed_at) VALUES (?, ?, ?, ?, ?)",
      ).run(queue, entry.seq, entry.messageId, entry.claimedAt === undefined ? 1 : 0, entry.claimedAt ?? null);
      if (changes > 0) return true;
      const held = this.sql("SELECT message_id FROM queue_entries WHERE queue = ? AND seq = ?").get(queue, entry.seq);
      return held?.message_id === entry.messageId;
    });
  }

  async headQueueEntries(queue: string, limit: number): Promise<QueueEntry[]> {
    const rows = this.sql(
      "SELECT seq, message_id, parked, claimed_at, turn_retried FROM queue_entries WHERE queue = ? ORDER BY seq LIMIT ?",
    ).all(queue, limit) as Row[];
    return rows.map((row) => {
      const entry: QueueEntry = { seq: Number(row.seq), messageId: row.message_id as string, parked: row.parked === 1 };
      if (row.claimed_at !== null) entry.claimedAt = Number(row.claimed_at);
      if (row.turn_retried !== null) entry.turn = Number(row.turn_retried);
      return entry;
    });
  }

  async setQueueEntryParked(queue: string, seq: number, parked: boolean, now: number, turn?: number): Promise<boolean> {
    const result = this.group.write(() =>
      parked
        ? this.sql("UPDATE queue_entries SET parked = 1 WHERE queue = ? AND seq = ? AND parked = 0").run(queue, seq)
        : this.sql(
            "UPDATE queue_entries SET parked = 0, claimed_at = ?, turn_retried = ? WHERE queue = ? AND seq = ? AND parked = 1",
          ).run(now, turn ?? null, queue, seq),
    );
    return result.changes === 1;
  }

  async reclaimQueueEntry(queue: string, seq: number, claimedAt: number, now: number): Promise<boolean> {
    const result = this.group.write(() =>
      this.sql(
        "UPDATE queue_entries SET claimed_at = ? WHERE queue = ? AND seq = ? AND parked = 0 AND claimed_at = ?",
      ).run(now, queue, seq, claimedAt),
    );
    return result.changes === 1;
  }

  async deleteQueueEntry(queue: string, seq: number): Promise<void> {
    this.group.write(() => this.sql("DELETE FROM queue_entries WHERE queue = ? AND seq = ?").run(queue, seq));
  }

  async countQueueEntries(queue: string): Promise<number> {
    return Number(this.sql("SELECT COUNT(*) AS n FROM queue_entries WHERE queue = ?").get(queue)?.n ?? 0);
  }

  async claimDedup(id: string, value: string, now: number, expiresAt: number, replacing?: string) {
    return this.group.atomic(() => {
      const row = this.sql("SELECT value, expires_at FROM dedup WHERE id = ?").get(id);
      const live = row && Number(row.expires_at) > now ? (row.value as string) : undefined;
      if (replacing === undefined ? live !== undefined : live !== replacing) return live ?? "";
      this.sql("INSERT OR REPLACE INTO dedup (id, value, expires_at) VALUES (?, ?, ?)").run(id, value, expiresAt);
      return undefined;
    });
  }

  // ---- workflow step logs -------------------------------------------------------------------------

  async appendStep(runId: string, step: Omit<WorkflowStep, "seq">): Promise<number> {
    // One connection: the read of the last seq and the insert are one transaction, so appends never collide.
    return this.group.atomic(() => {
      // The same message again (its publish resumed after a crash): its step stays where it is.
      const own = this.sql("SELECT seq FROM workflow_steps WHERE run_id = ? AND message_id = ?").get(
        runId,
        step.messageId,
      );
      if (own) return Number(own.seq);
      const last = this.sql("SELECT MAX(seq) AS seq FROM workflow_steps WHERE run_id = ?").get(runId)?.seq;
      const seq = last === null || last === undefined ? 0 : Number(last) + 1;
      this.sql(
        "INSERT INTO workflow_steps (run_id, seq, message_id, call_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(runId, seq, step.messageId, step.callType, step.body, step.createdAt);
      return seq;
    });
  }

  async listSteps(runId: string, upTo?: number): Promise<WorkflowStep[]> {
    const rows = this.sql(
      "SELECT seq, message_id, call_type, body, created_at FROM workflow_steps WHERE run_id = ? AND seq <= ? ORDER BY seq",
    ).all(runId, upTo ?? Number.MAX_SAFE_INTEGER) as Row[];
    return rows.map((row) => ({
      seq: Number(row.seq),
      messageId: row.message_id as string,
      callType: row.call_type as string,
      body: toBytes(row.body),
      createdAt: Number(row.created_at),
    }));
  }

  /** Drops log events, DLQ entries and finished messages older than the retention. */
  purge(olderThan: number): void {
    this.group.atomic(() => {
      this.sql("DELETE FROM dedup WHERE expires_at < ?").run(Date.now());
      this.sql("DELETE FROM events WHERE time < ?").run(olderThan);
      // CREATED entries kept in message rows go with the retention too, as event rows do.
      this.sql("UPDATE messages SET log_time = NULL, log_seq = NULL WHERE log_seq IS NOT NULL AND log_time < ?").run(
        olderThan,
      );
      this.sql("DELETE FROM dlq WHERE failed_at < ?").run(olderThan);
      this.sql("DELETE FROM workflow_steps WHERE created_at < ?").run(olderThan - WORKFLOW_STEP_HORIZON_MS);
      this.sql("DELETE FROM records WHERE expires_at < ?").run(Date.now());
      this.sql("DELETE FROM messages WHERE state IN ('DELIVERED', 'FAILED', 'CANCELED') AND updated_at < ?").run(
        olderThan,
      );
    });
  }
}
