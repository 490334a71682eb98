import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Prepared statements reused by SQL text (preparing is a measurable part of a small write). */
export class Statements {
  private readonly db: DatabaseSync;
  private readonly cache = new Map<string, StatementSync>();
  constructor(db: DatabaseSync) {
    this.db = db;
  }

  get(sql: string): StatementSync {
    let statement = this.cache.get(sql);
    if (!statement) {
      if (this.cache.size >= 256) this.cache.clear(); // dynamic IN (...) lists must not grow it forever
      statement = this.db.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}
