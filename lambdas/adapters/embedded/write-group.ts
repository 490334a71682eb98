import type { DatabaseSync } from "node:sqlite";
import { Statements } from "./sqlite-statements.ts";

/**
 * Group commit. Writes run at once, as before, but inside one transaction that stays open for the rest of
 * the current turn of the event loop and is committed in a `setImmediate` — the writes of every request and
 * delivery handled in that turn cost one commit instead of one each (a commit is most of a small write's
 * cost).
 *
 * Durability is kept at the edge of the process: nothing leaves it before the writes made before it are
 * committed. The local server awaits `durable()` before it sends any response, and before any delivery
 * attempt goes out; the job queue commits before it starts jobs. To anyone outside, this is the same as one
 * commit per write: a 2xx is only ever sent for a committed message. A crash loses only writes nobody was
 * told about, and always a suffix of them (one connection commits in program order), so "side effects
 * first, status last" still holds after a crash.
 *
 * A statement that fails has no effect, and `atomic` undoes the rest of its work (a SAVEPOINT): the
 * group goes on. A commit that fails (an I/O error, a full disk), or a statement error after which SQLite
 * rolled the whole transaction back itself (the same errors), loses the whole group, as a crash would:
 * its waiters are rejected, `rollbacks` counts up, the rollback listeners run (the job queue reads its
 * table again), the server answers 500 to every request that was under way meanwhile (see `serve`), and
 * every write for the rest of that turn fails too, so no operation keeps its second half without its
 * first.
 *
 * node:sqlite is synchronous and there is one connection: reads see every earlier write at once.
 */
export class WriteGroup {
  private readonly db: DatabaseSync;
  private open = false;
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private readonly statements: Statements;
  private readonly rollbackListeners: (() => void)[] = [];
  /** Set from a lost group to the end of its turn: the error every write meanwhile fails with. */
  private lostThisTurn: Error | undefined;
  /** How many groups were lost so far: whoever saw it change may have seen writes that are gone. */
  rollbacks = 0;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.statements = new Statements(db);
  }

  /** Runs `work` — one write statement — inside the open group (opening one if none is). */
  write<T>(work: () => T): T {
    if (this.lostThisTurn) throw this.lostThisTurn;
    if (!this.open) {
      this.db.exec("BEGIN");
      this.open = true;
      setImmediate(() => this.commit());
    }
    try {
      return work();
    } catch (error) {
      // A full disk, an I/O error or RAISE(ROLLBACK) ends the whole transaction: the group is lost.
      if (this.db.isOpen && !this.db.isTransaction) this.lose(error);
      throw error;
    }
  }

  /**
   * Runs `work` — several writes — atomically inside the open group: if it throws, none of it stays. (A
   * single statement needs no `atomic`: the SAVEPOINT copies every page it touches, a measurable cost.)
   */
  atomic<T>(work: () => T): T {
    return this.write(() => {
      this.statements.get("SAVEPOINT herald_write").run();
      try {
        const result = work();
        this.statements.get("RELEASE herald_write").run();
        return result;
      } catch (error) {
        if (this.db.isTransaction) {
          this.statements.get("ROLLBACK TO herald_write").run();
          this.statements.get("RELEASE herald_write").run();
        }
        throw error;
      }
    });
  }

  /** Called after a group was lost (state kept in memory may describe writes that are gone). */
  onRollback(listener: () => void): void {
    this.rollbackListeners.push(listener);
  }

  /** Resolves once every write made so far is committed (at once when none is pending). */
  durable(): Promise<void> | undefined {
    if (this.lostThisTurn) return Promise.reject(this.lostThisTurn);
    if (!this.open) return undefined;
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Commits the open group now (a no-op when none is open). */
  commit(): void {
    if (!this.open) return;
    try {
      this.db.exec("COMMIT");
    } catch (error) {
      // A connection closed by its owner mid-group rolled back already (tests close without waiting).
      if (this.db.isOpen) console.error("could not commit to the local database; the last writes are lost", error);
      this.lose(error);
      return;
    }
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** The open group is lost: rolled back (if SQLite has not done it), and told to whoever waits on it. */
  private lose(error: unknown): void {
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (!this.db.isOpen) {
      // Closed by its owner mid-group (shutdown, tests): nothing more is written, nobody needs telling.
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    try {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
    } catch (rollbackError) {
      console.error("could not roll back the local database's open writes", rollbackError);
    }
    this.rollbacks++;
    this.lostThisTurn = new Error("the local database lost this turn's writes", { cause: error });
    setImmediate(() => (this.lostThisTurn = undefined));
    for (const waiter of waiters) waiter.reject(error);
    for (const listener of this.rollbackListeners) listener();
  }
}

const groups = new WeakMap<DatabaseSync, WriteGroup>();

/** The write group of a connection (one per connection: the store, job queue and keys share it). */
export function writeGroup(db: DatabaseSync): WriteGroup {
  let group = groups.get(db);
  if (!group) {
    group = new WriteGroup(db);
    groups.set(db, group);
  }
  return group;
}
