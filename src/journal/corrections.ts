/**
 * The `corrections` table, from the push's side: deletes owed to Wealthfolio because an activity
 * it holds was undone (cancellations.ts records them), and their application.
 *
 * Applying one is recorded after Wealthfolio answered, in one transaction: the correction
 * becomes `applied` with the run id, the original becomes `superseded` (it is no longer in
 * Wealthfolio), and its sync record goes. A crash before that commit is harmless: the next run
 * asks Wealthfolio whether the key is still there.
 */
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "./db.ts";

/** A delete Wealthfolio is owed. */
export interface PendingCorrection {
  readonly id: number;
  /** The key of the activity to delete (Wealthfolio's idempotencyKey too). */
  readonly targetKey: string;
  /** The IBKR account of the target. */
  readonly account: string;
  readonly action: "delete";
  readonly cancelKey: string;
  readonly reason: string;
}

/** Pending corrections, oldest first. */
export function pendingCorrections(db: DatabaseSync): PendingCorrection[] {
  return (db.prepare(
    `SELECT c.id, c.target_key, a.account_id, c.action, c.cancel_key, c.reason
     FROM corrections c JOIN activities a ON a.key = c.target_key
     WHERE c.state = 'pending' ORDER BY c.id`,
  ).all() as Record<string, unknown>[]).map((r) => ({
    id: Number(r.id),
    targetKey: String(r.target_key),
    account: String(r.account_id),
    action: "delete",
    cancelKey: String(r.cancel_key),
    reason: String(r.reason),
  }));
}

/** Records that Wealthfolio holds a superseded activity it should not: a delete is owed. */
export function oweDelete(
  db: DatabaseSync,
  o: { targetKey: string; cancelKey: string; reason: string; now: string },
): void {
  db.prepare(
    `INSERT INTO corrections (target_key, action, cancel_key, reason, state, created_at)
     VALUES (?, 'delete', ?, ?, 'pending', ?)
     ON CONFLICT (target_key, action) DO UPDATE SET state = 'pending', applied_at = NULL, error = NULL
     WHERE corrections.state <> 'pending'`,
  ).run(o.targetKey, o.cancelKey, o.reason, o.now);
}

/** Records a correction as applied: deleted now, or found already gone. */
export function recordCorrectionApplied(
  db: DatabaseSync,
  o: { id: number; targetKey: string; cancelKey: string; runId: number; now: string },
): void {
  transaction(db, () => {
    db.prepare(
      "UPDATE corrections SET state = 'applied', applied_at = ?, run_id = ?, error = NULL WHERE id = ?",
    ).run(o.now, o.runId, o.id);
    // A pushed original leaves Wealthfolio: superseded now. One already superseded (a journal
    // rebuilt from statements) keeps its reason.
    db.prepare(
      `UPDATE activities SET
         reason = CASE WHEN state = 'superseded' THEN reason ELSE 'cancelled-by:' || ? END,
         state = 'superseded', wf_absent_at = ?, updated_at = ?
       WHERE key = ?`,
    ).run(o.cancelKey, o.now, o.now, o.targetKey);
    db.prepare("DELETE FROM sync_records WHERE key = ?").run(o.targetKey);
  });
}
