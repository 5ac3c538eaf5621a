/**
 * The `fetch_windows` table: every window asked of the Flex Web Service and where it stands.
 * `downloaded` (bytes in `statements`, not yet mapped: a crash happened in between), `mapped`,
 * `refused` (the statement came but was refused; its bytes stay, flagged) or `failed` (no
 * statement: IBKR refused or could not be reached). One row per query and window, updated by
 * each run that asks for it.
 */
import type { DatabaseSync } from "node:sqlite";
import type { IsoDate } from "../flex/dates.ts";
import type { FlexWindow } from "../flex/windows.ts";

export type FetchWindowState = "downloaded" | "mapped" | "refused" | "failed";

/** One row. */
export interface FetchWindowRecord {
  readonly queryId: string;
  readonly window: FlexWindow;
  readonly command: string;
  readonly state: FetchWindowState;
  readonly statementId: number | null;
  readonly calls: number;
  readonly error: string | null;
  readonly runId: number;
  readonly updatedAt: string;
}

/**
 * Records (or updates) where a window stands. A window once mapped stays mapped when a later
 * attempt fails or is refused: its statement is still in the journal (the error is kept).
 */
export function recordFetchWindow(db: DatabaseSync, r: FetchWindowRecord): void {
  db.prepare(
    `INSERT INTO fetch_windows
       (query_id, from_date, to_date, command, state, statement_id, calls, error, run_id, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (query_id, from_date, to_date) DO UPDATE SET
       command = excluded.command,
       state = CASE WHEN fetch_windows.state = 'mapped' AND excluded.state IN ('failed', 'refused')
         THEN 'mapped' ELSE excluded.state END,
       statement_id = CASE WHEN fetch_windows.state = 'mapped'
         AND excluded.state IN ('failed', 'refused')
         THEN fetch_windows.statement_id ELSE excluded.statement_id END,
       calls = fetch_windows.calls + excluded.calls, error = excluded.error,
       run_id = excluded.run_id, updated_at = excluded.updated_at`,
  ).run(
    r.queryId,
    r.window.from,
    r.window.to,
    r.command,
    r.state,
    r.statementId,
    r.calls,
    r.error,
    r.runId,
    r.updatedAt,
  );
}

/** A window's row, if it was ever asked for. */
export function findFetchWindow(
  db: DatabaseSync,
  queryId: string,
  window: FlexWindow,
): FetchWindowRecord | undefined {
  const row = db.prepare(
    `SELECT * FROM fetch_windows WHERE query_id = ? AND from_date = ? AND to_date = ?`,
  ).get(queryId, window.from, window.to) as Record<string, unknown> | undefined;
  return row ? toRecord(row) : undefined;
}

/** Windows whose statement was stored but never mapped (the run stopped in between), oldest first. */
export function downloadedFetchWindows(db: DatabaseSync): FetchWindowRecord[] {
  return (db.prepare(
    "SELECT * FROM fetch_windows WHERE state = 'downloaded' ORDER BY from_date, id",
  ).all() as Record<string, unknown>[]).map(toRecord);
}

/** The last day a mapped statement of this query covers, or null before the first fetch. */
export function lastFetchedDay(db: DatabaseSync, queryId: string): IsoDate | null {
  const row = db.prepare(
    "SELECT MAX(to_date) AS last FROM fetch_windows WHERE query_id = ? AND state = 'mapped'",
  ).get(queryId) as { last: string | null };
  return row.last;
}

/** Windows by state, for `status`. */
export function fetchWindowCounts(
  db: DatabaseSync,
): { queryId: string; state: FetchWindowState; count: number; lastToDate: IsoDate }[] {
  return (db.prepare(
    `SELECT query_id, state, COUNT(*) AS n, MAX(to_date) AS last FROM fetch_windows
     GROUP BY query_id, state ORDER BY query_id, state`,
  ).all() as Record<string, unknown>[]).map((r) => ({
    queryId: String(r.query_id),
    state: r.state as FetchWindowState,
    count: Number(r.n),
    lastToDate: String(r.last),
  }));
}

function toRecord(row: Record<string, unknown>): FetchWindowRecord {
  return {
    queryId: String(row.query_id),
    window: { from: String(row.from_date), to: String(row.to_date) },
    command: String(row.command),
    state: row.state as FetchWindowState,
    statementId: row.statement_id === null ? null : Number(row.statement_id),
    calls: Number(row.calls),
    error: row.error === null ? null : String(row.error),
    runId: Number(row.run_id),
    updatedAt: String(row.updated_at),
  };
}
