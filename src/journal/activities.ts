/** The `activities` table: one row per idempotency key, with its payload and state. */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Activity, ActivityState, SkippedRow } from "../domain/activity.ts";
import { type ActivityPayload, toPayload } from "../domain/payload.ts";

/** A journal row as listed by `activities` and `status`. */
export interface JournalActivity {
  readonly key: string;
  readonly account: string;
  readonly activityType: string | null;
  readonly businessDate: string | null;
  readonly symbol: string | null;
  readonly state: ActivityState;
  readonly reason: string | null;
  readonly mappingVersion: number;
  /** The activity payload, or for a skipped row the summary of what the row was. */
  readonly payload: ActivityPayload | { readonly skipped: Record<string, string | null> };
}

/** Rows per multi-row upsert: one SQLite call for many rows is most of the saving. */
const BATCH_ROWS = 32;

/**
 * The upsert of `rows` entries. A key already journaled is left alone unless it is still unpushed
 * and was mapped by an older mapping version. With RETURNING, the keys that changed come back
 * (rows the WHERE leaves alone are not returned).
 */
function upsertSql(rows: number, returning: boolean): string {
  return `INSERT INTO activities (key, account_id, activity_type, business_date, symbol, payload,
                               mapping_version, statement_id, state, reason, updated_at, match_key)
       VALUES ${Array(rows).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}
       ON CONFLICT (key) DO UPDATE SET
         activity_type = excluded.activity_type, business_date = excluded.business_date,
         symbol = excluded.symbol, payload = excluded.payload,
         mapping_version = excluded.mapping_version, state = excluded.state,
         reason = excluded.reason, updated_at = excluded.updated_at,
         match_key = excluded.match_key
       WHERE activities.state IN ('pending', 'skipped')
         AND activities.mapping_version < excluded.mapping_version
       ${returning ? "RETURNING key" : ""}`;
}

/** Entries queued together, and who to tell which of them changed the journal. */
interface Queued {
  readonly entries: readonly JournalEntry[];
  readonly written: (changed: readonly boolean[]) => void;
}

/**
 * Writes mapping outcomes, one at a time (`write`) or queued and written many rows per statement
 * (`queue`, `flush`). A key already journaled is left alone unless it is still unpushed and was
 * mapped by an older mapping version: the first statement a row is seen in stays its home.
 */
export class ActivityWriter {
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #batches = new Map<number, StatementSync>();
  readonly #backfillMatchKey: StatementSync;
  readonly #statementId: number;
  readonly #mappingVersion: number;
  readonly #now: string;
  #queued: Queued[] = [];
  readonly #queuedKeys = new Set<string>();

  constructor(db: DatabaseSync, statementId: number, mappingVersion: number, now: string) {
    this.#db = db;
    this.#upsert = db.prepare(upsertSql(1, false));
    // A row left alone (pushed, or already mapped) still learns how corrections find it: a
    // dividend pushed before match keys existed must be reachable by its reversal.
    this.#backfillMatchKey = db.prepare(
      "UPDATE activities SET match_key = ? WHERE key = ? AND match_key IS NULL",
    );
    this.#statementId = statementId;
    this.#mappingVersion = mappingVersion;
    this.#now = now;
  }

  /** Journals a mapped activity as pending; returns whether the journal changed. */
  activity(a: Activity): boolean {
    return this.write(activityEntry(a));
  }

  /** Journals a skipped row with its reason; returns whether the journal changed. */
  skipped(s: SkippedRow): boolean {
    return this.write(skippedEntry(s));
  }

  /** Journals an entry built by activityEntry or skippedEntry; returns whether the journal changed. */
  write(e: JournalEntry): boolean {
    const r = this.#upsert.run(...this.#values(e));
    if (Number(r.changes) > 0) return true;
    if (e.matchKey !== null) this.#backfillMatchKey.run(e.matchKey, e.key);
    return false;
  }

  /**
   * Queues one outcome's entries; `written` learns, in order, which changed the journal once they
   * are written (by a later `queue` or by `flush`). Same result as `write` on each in turn.
   */
  queue(entries: readonly JournalEntry[], written: (changed: readonly boolean[]) => void): void {
    if (entries.length > 1 && new Set(entries.map((e) => e.key)).size < entries.length) {
      // The same key twice in one outcome: only row-by-row tells which write took.
      this.flush();
      written(entries.map((e) => this.write(e)));
      return;
    }
    // A key already queued must see the earlier write first.
    if (entries.some((e) => this.#queuedKeys.has(e.key))) this.flush();
    this.#queued.push({ entries, written });
    for (const e of entries) this.#queuedKeys.add(e.key);
    if (this.#queuedKeys.size >= BATCH_ROWS) this.flush();
  }

  /** Writes everything queued. Call before reading the activities table. */
  flush(): void {
    const queued = this.#queued;
    if (queued.length === 0) return;
    this.#queued = [];
    this.#queuedKeys.clear();
    const entries = queued.flatMap((q) => q.entries);
    const changed = new Set<string>();
    for (let at = 0; at < entries.length; at += BATCH_ROWS) {
      const rows = Math.min(BATCH_ROWS, entries.length - at);
      const values: (string | number | null)[] = [];
      for (let i = at; i < at + rows; i++) this.#values(entries[i], values);
      for (const row of this.#batch(rows).all(...values)) changed.add(row.key as string);
    }
    for (const q of queued) {
      q.written(q.entries.map((e) => {
        if (changed.has(e.key)) return true;
        if (e.matchKey !== null) this.#backfillMatchKey.run(e.matchKey, e.key);
        return false;
      }));
    }
  }

  #batch(rows: number): StatementSync {
    let statement = this.#batches.get(rows);
    if (!statement) {
      statement = this.#db.prepare(upsertSql(rows, true));
      this.#batches.set(rows, statement);
    }
    return statement;
  }

  /** Appends an entry's column values, in the upsert's order, to `out`. */
  #values(e: JournalEntry, out: (string | number | null)[] = []): (string | number | null)[] {
    out.push(
      e.key,
      e.account,
      e.activityType,
      e.businessDate,
      e.symbol,
      e.payload,
      this.#mappingVersion,
      this.#statementId,
      e.state,
      e.reason,
      this.#now,
      e.matchKey,
    );
    return out;
  }
}

/**
 * One `activities` row as the mapper decides it, payload already serialised: plain data, so a
 * worker thread can build it and the journal's thread only writes it.
 */
export interface JournalEntry {
  readonly key: string;
  readonly account: string;
  readonly activityType: string | null;
  readonly businessDate: string | null;
  readonly symbol: string | null;
  /** The canonical payload JSON (toPayload), or for a skipped row `{"skipped": summary}`. */
  readonly payload: string;
  readonly state: "pending" | "skipped";
  readonly reason: string | null;
  readonly matchKey: string | null;
}

/** The entry of a mapped activity: pending, dated by its business date. */
export function activityEntry(a: Activity): JournalEntry {
  return {
    key: a.key,
    account: a.account,
    activityType: a.activityType,
    businessDate: a.date.slice(0, 10),
    symbol: a.symbol,
    payload: JSON.stringify(toPayload(a)),
    state: "pending",
    reason: null,
    matchKey: a.matchKey ?? null,
  };
}

/** The entry of a skipped row, with its reason and what the row was. */
export function skippedEntry(s: SkippedRow): JournalEntry {
  return {
    key: s.key,
    account: s.account,
    activityType: null,
    businessDate: s.date,
    symbol: s.summary.symbol ?? null,
    payload: JSON.stringify({ skipped: s.summary }),
    state: "skipped",
    reason: s.reason,
    matchKey: null,
  };
}

/** Filters for listing the journal. */
export interface ActivityFilter {
  readonly states?: readonly ActivityState[];
  readonly types?: readonly string[];
  readonly from?: string;
  readonly to?: string;
  readonly symbol?: string;
  readonly account?: string;
  readonly reason?: string;
  readonly limit?: number;
}

/** Lists journal activities, oldest first, then by key. */
export function listActivities(db: DatabaseSync, f: ActivityFilter = {}): JournalActivity[] {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  const any = (column: string, values: readonly string[] | undefined) => {
    if (!values?.length) return;
    where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
    args.push(...values);
  };
  any("state", f.states);
  any("activity_type", f.types);
  if (f.from) where.push("business_date >= ?"), args.push(f.from);
  if (f.to) where.push("business_date <= ?"), args.push(f.to);
  if (f.symbol) where.push("symbol = ?"), args.push(f.symbol);
  if (f.account) where.push("account_id = ?"), args.push(f.account);
  if (f.reason) {
    // A reason or its prefix before ":", compared literally (LIKE would treat _ and % as wildcards).
    where.push("(reason = ? OR substr(reason, 1, ?) = ?)");
    args.push(f.reason, f.reason.length + 1, `${f.reason}:`);
  }
  const sql =
    `SELECT key, account_id, activity_type, business_date, symbol, state, reason, mapping_version, payload
    FROM activities ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY business_date, key ${f.limit ? `LIMIT ${Math.trunc(f.limit)}` : ""}`;
  return (db.prepare(sql).all(...args) as Record<string, unknown>[]).map((r) => ({
    key: String(r.key),
    account: String(r.account_id),
    activityType: r.activity_type === null ? null : String(r.activity_type),
    businessDate: r.business_date === null ? null : String(r.business_date),
    symbol: r.symbol === null ? null : String(r.symbol),
    state: r.state as ActivityState,
    reason: r.reason === null ? null : String(r.reason),
    mappingVersion: Number(r.mapping_version),
    payload: JSON.parse(String(r.payload)),
  }));
}

/** Counts by state and activity type (skipped rows count under their reason instead). */
export function activityCounts(db: DatabaseSync): { state: string; type: string; count: number }[] {
  return (db.prepare(
    `SELECT state, COALESCE(activity_type, reason) AS type, COUNT(*) AS n FROM activities
     GROUP BY state, COALESCE(activity_type, reason) ORDER BY state, type`,
  ).all() as Record<string, unknown>[]).map((r) => ({
    state: String(r.state),
    type: String(r.type),
    count: Number(r.n),
  }));
}
