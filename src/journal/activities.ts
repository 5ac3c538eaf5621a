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

/**
 * Writes mapping outcomes. A key already journaled is left alone unless it is still unpushed and
 * was mapped by an older mapping version: the first statement a row is seen in stays its home.
 */
export class ActivityWriter {
  readonly #upsert: StatementSync;
  readonly #backfillMatchKey: StatementSync;
  readonly #statementId: number;
  readonly #mappingVersion: number;
  readonly #now: string;

  constructor(db: DatabaseSync, statementId: number, mappingVersion: number, now: string) {
    this.#upsert = db.prepare(
      `INSERT INTO activities (key, account_id, activity_type, business_date, symbol, payload,
                               mapping_version, statement_id, state, reason, updated_at, match_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         activity_type = excluded.activity_type, business_date = excluded.business_date,
         symbol = excluded.symbol, payload = excluded.payload,
         mapping_version = excluded.mapping_version, state = excluded.state,
         reason = excluded.reason, updated_at = excluded.updated_at,
         match_key = excluded.match_key
       WHERE activities.state IN ('pending', 'skipped')
         AND activities.mapping_version < excluded.mapping_version`,
    );
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
    const r = this.#upsert.run(
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
    if (Number(r.changes) > 0) return true;
    if (e.matchKey !== null) this.#backfillMatchKey.run(e.matchKey, e.key);
    return false;
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
