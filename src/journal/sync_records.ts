/**
 * The push's side of the journal: what is waiting for Wealthfolio, and what came of each chunk.
 *
 * A chunk's outcome (keys now pushed with their Wealthfolio ids, keys Wealthfolio refused, the
 * chunk's own row) is written in one transaction with the run id, after Wealthfolio answered.
 * A crash before that commit leaves the keys pending; the next run asks Wealthfolio which keys it
 * holds and records them then, so nothing is sent twice and nothing is lost.
 */
import type { DatabaseSync } from "node:sqlite";
import type { ActivityPayload } from "../domain/payload.ts";
import { oweDelete } from "./corrections.ts";
import { transaction } from "./db.ts";

/** An activity waiting to be pushed. */
export interface PendingActivity {
  readonly key: string;
  /** The IBKR account it belongs to. */
  readonly account: string;
  readonly payload: ActivityPayload;
}

/** Pending activities (and failed ones when retrying), by account, business date, key. */
export function pendingActivities(
  db: DatabaseSync,
  options: { includeFailed: boolean },
): PendingActivity[] {
  const states = options.includeFailed ? "('pending', 'failed')" : "('pending')";
  return (db.prepare(
    `SELECT key, account_id, payload FROM activities WHERE state IN ${states}
     ORDER BY account_id, business_date, key`,
  ).all() as { key: string; account_id: string; payload: string }[]).map((r) => ({
    key: r.key,
    account: r.account_id,
    payload: JSON.parse(r.payload) as ActivityPayload,
  }));
}

/** Failed activities back to pending (`import --retry-failed`); returns how many. */
export function retryFailed(db: DatabaseSync, now: string): number {
  const r = db.prepare(
    "UPDATE activities SET state = 'pending', reason = NULL, updated_at = ? WHERE state = 'failed'",
  ).run(now);
  return Number(r.changes);
}

/** Rows Wealthfolio refused, with its message. */
export function failedActivities(db: DatabaseSync): { key: string; reason: string }[] {
  return (db.prepare(
    "SELECT key, reason FROM activities WHERE state = 'failed' ORDER BY business_date, key",
  ).all() as { key: string; reason: string | null }[]).map((r) => ({
    key: r.key,
    reason: r.reason ?? "",
  }));
}

/** Journal rows that are never pushed, by state and reason: skipped by reason; superseded counted. */
export function notPushed(db: DatabaseSync): {
  skipped: Record<string, number>;
  superseded: number;
} {
  const skipped: Record<string, number> = {};
  for (
    const r of db.prepare(
      "SELECT reason, COUNT(*) AS n FROM activities WHERE state = 'skipped' GROUP BY reason ORDER BY reason",
    ).all() as { reason: string; n: number }[]
  ) skipped[r.reason] = Number(r.n);
  const superseded = db.prepare(
    "SELECT COUNT(*) AS n FROM activities WHERE state = 'superseded'",
  ).get() as { n: number };
  return { skipped, superseded: Number(superseded.n) };
}

/** A superseded activity Wealthfolio has not yet been checked not to hold. */
export interface UnverifiedSuperseded {
  readonly key: string;
  readonly account: string;
  /** The row that undid it (or, for a netted refund, the tax it nets out with). */
  readonly cancelledBy: string | null;
}

/**
 * Superseded rows not yet checked against Wealthfolio. Normally never there; but a journal
 * rebuilt from statements supersedes rows an earlier journal had pushed, and a push that crashed
 * before recording can leave one there too.
 */
export function unverifiedSuperseded(db: DatabaseSync): UnverifiedSuperseded[] {
  return (db.prepare(
    `SELECT key, account_id, cancelled_by FROM activities
     WHERE state = 'superseded' AND wf_absent_at IS NULL ORDER BY account_id, business_date, key`,
  ).all() as { key: string; account_id: string; cancelled_by: string | null }[]).map((r) => ({
    key: r.key,
    account: r.account_id,
    cancelledBy: r.cancelled_by,
  }));
}

/** What one chunk came to; recorded by `recordChunk`. */
export interface ChunkOutcome {
  readonly runId: number;
  readonly seq: number;
  readonly kind: "check" | "create" | "delete";
  readonly wfAccountId: string | null;
  readonly rows: number;
  /** Keys Wealthfolio already held (check-duplicates): key → its activity id. */
  readonly found: ReadonlyMap<string, string>;
  /** Keys this chunk created: key → the new activity id. */
  readonly created: ReadonlyMap<string, string>;
  /** Keys Wealthfolio refused: key → its message. */
  readonly failed: ReadonlyMap<string, string>;
  /** Superseded keys now known to be absent from Wealthfolio. */
  readonly absent?: readonly string[];
  /** Superseded keys Wealthfolio holds after all: a delete is owed for each. */
  readonly owed?: readonly { targetKey: string; cancelKey: string; reason: string }[];
  readonly calls: number;
  readonly now: string;
}

/** Records a chunk's outcome in one transaction. */
export function recordChunk(db: DatabaseSync, o: ChunkOutcome): void {
  transaction(db, () => {
    const pushed = db.prepare(
      `UPDATE activities SET state = 'pushed', reason = NULL, updated_at = ?
       WHERE key = ? AND state IN ('pending', 'failed')`,
    );
    const sync = db.prepare(
      `INSERT INTO sync_records (key, wf_activity_id, wf_account_id, pushed_at, run_id, how)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET wf_activity_id = excluded.wf_activity_id,
         wf_account_id = excluded.wf_account_id, pushed_at = excluded.pushed_at,
         run_id = excluded.run_id, how = excluded.how`,
    );
    const failed = db.prepare(
      `UPDATE activities SET state = 'failed', reason = ?, updated_at = ?
       WHERE key = ? AND state IN ('pending', 'failed')`,
    );
    const absent = db.prepare(
      "UPDATE activities SET wf_absent_at = ? WHERE key = ? AND state = 'superseded'",
    );
    for (const [how, ids] of [["found", o.found], ["created", o.created]] as const) {
      for (const [key, id] of ids) {
        if (Number(pushed.run(o.now, key).changes) > 0) {
          sync.run(key, id, o.wfAccountId ?? "", o.now, o.runId, how);
        }
      }
    }
    for (const [key, message] of o.failed) failed.run(message, o.now, key);
    for (const key of o.absent ?? []) absent.run(o.now, key);
    for (const owed of o.owed ?? []) oweDelete(db, { ...owed, now: o.now });
    db.prepare(
      `INSERT INTO push_chunks (run_id, seq, kind, wf_account_id, rows, pushed, failed, calls, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      o.runId,
      o.seq,
      o.kind,
      o.wfAccountId,
      o.rows,
      o.found.size + o.created.size,
      o.failed.size,
      o.calls,
      o.now,
    );
  });
}
