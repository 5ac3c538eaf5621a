/**
 * Corrections IBKR sends as new rows: the journal's side. A cancel is recorded when its row is
 * mapped, and resolved whenever its original is in the journal — in the same statement, a later
 * one, or an earlier one — so file order never matters.
 *
 * - Both unpushed: the original (and its legs) become `superseded`; a `net` canceller too.
 * - Original already pushed: a `delete` correction is recorded for the push step, except in
 *   `net` mode, where the canceller is booked as the compensation instead.
 * - A trade cancel leaves the trade's costs standing (domain `costsSurvive`): its cost legs are
 *   untouched and the caller books the fee the trade carried.
 */
import type { DatabaseSync } from "node:sqlite";
import { type Cancellation, costsSurvive } from "../domain/activity.ts";
import type { ActivityPayload } from "../domain/payload.ts";

/** Legs that go with a row's own key (docs/cli.md). `:cash` is another row, not a leg. */
export const ROW_LEGS = ["commission", "rebate", "out", "in", "tax", "fee", "proceeds"] as const;

/**
 * The legs that are a row's costs: they stand when a trade is cancelled (costsSurvive). A
 * corporate action's `:proceeds` is not one: it is the action's cash, undone with the action.
 */
export const COST_LEGS: readonly string[] = ["commission", "rebate", "tax", "fee"];

/** Whether a key is a cost leg of its row: `ibkr:U1:42:commission` → true. */
export function isCostLeg(key: string): boolean {
  return key !== rowKeyOf(key) && COST_LEGS.includes(key.slice(key.lastIndexOf(":") + 1));
}

/** The key of the row an activity key belongs to: `ibkr:U1:42:out` → `ibkr:U1:42`. */
export function rowKeyOf(key: string): string {
  const i = key.lastIndexOf(":");
  return (ROW_LEGS as readonly string[]).includes(key.slice(i + 1)) ? key.slice(0, i) : key;
}

/** Records a cancellation (once per cancelling row). */
export function recordCancellation(
  db: DatabaseSync,
  c: Cancellation & { key: string; account: string; now: string },
): void {
  db.prepare(
    `INSERT OR IGNORE INTO cancellations (key, account_id, mode, target_key, target_match, reason, state, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'open', ?)`,
  ).run(c.key, c.account, c.mode, c.targetKey, c.targetMatch, c.reason, c.now);
}

export interface Resolution {
  readonly resolved: number;
  readonly superseded: number;
  readonly corrections: number;
  readonly open: number;
}

interface Target {
  key: string;
  state: string;
}

/**
 * Resolves every open cancellation whose original is now in the journal. Where the original's
 * costs survive its cancellation (a trade cancel), its cost legs are left as they are, and
 * `keepCosts` receives the original activity so the caller can book the fee it carried.
 */
export function resolveCancellations(
  db: DatabaseSync,
  now: string,
  keepCosts: (original: ActivityPayload) => void = () => {},
): Resolution {
  const open = db.prepare(
    `SELECT key, account_id, mode, target_key, target_match, reason FROM cancellations
     WHERE state = 'open' ORDER BY created_at, key`,
  ).all() as {
    key: string;
    account_id: string;
    mode: string;
    target_key: string | null;
    target_match: string | null;
    reason: string;
  }[];
  const byMatch = db.prepare(
    `SELECT key FROM activities WHERE account_id = ? AND match_key = ? AND cancelled_by IS NULL
       AND state <> 'superseded' AND key <> ? ORDER BY business_date, length(key), key LIMIT 1`,
  );
  const rowActivities = db.prepare(
    `SELECT key, state FROM activities WHERE account_id = ? AND cancelled_by IS NULL AND key IN (${
      ["?", ...ROW_LEGS.map(() => "?")].join(", ")
    })`,
  );
  const supersede = db.prepare(
    "UPDATE activities SET state = 'superseded', reason = ?, cancelled_by = ?, updated_at = ? WHERE key = ?",
  );
  const markCancelled = db.prepare(
    "UPDATE activities SET cancelled_by = ?, updated_at = ? WHERE key = ?",
  );
  const correct = db.prepare(
    `INSERT OR IGNORE INTO corrections (target_key, action, cancel_key, reason, state, created_at)
     VALUES (?, 'delete', ?, ?, 'pending', ?)`,
  );
  const setReason = db.prepare(
    "UPDATE activities SET reason = ?, updated_at = ? WHERE key = ? AND state = 'skipped'",
  );
  const resolve = db.prepare(
    "UPDATE cancellations SET state = 'resolved', resolved_key = ?, outcome = ?, resolved_at = ? WHERE key = ?",
  );

  let resolved = 0, superseded = 0, corrections = 0;
  for (const c of open) {
    const targetRow = c.target_key ??
      (c.target_match
        ? (byMatch.get(c.account_id, c.target_match, c.key) as { key: string } | undefined)?.key
        : undefined);
    if (!targetRow) continue;
    const base = rowKeyOf(targetRow);
    const legs = (k: string) => [k, ...ROW_LEGS.map((leg) => `${k}:${leg}`)];
    const targets = rowActivities.all(c.account_id, ...legs(base)) as unknown as Target[];
    if (targets.length === 0) continue;
    const cancellers = rowActivities.all(c.account_id, ...legs(c.key)) as unknown as Target[];

    let outcome: string;
    if (c.mode === "net") {
      const anyPushed = [...targets, ...cancellers].some((t) => t.state === "pushed");
      if (anyPushed) {
        // The original already reached Wealthfolio: the refund is booked as its compensation.
        // Marked, so a second refund cannot compensate the same tax again.
        for (const t of targets) markCancelled.run(c.key, now, t.key);
        outcome = "compensates";
      } else {
        for (const t of targets) supersede.run(`cancelled-by:${c.key}`, c.key, now, t.key);
        for (const t of cancellers) supersede.run(`nets-out:${base}`, base, now, t.key);
        superseded += targets.length + cancellers.length;
        outcome = "netted";
      }
    } else {
      let pushed = 0;
      const costsStand = costsSurvive(c.reason);
      for (const t of targets) {
        if (costsStand && isCostLeg(t.key)) continue;
        if (t.state === "pushed") {
          correct.run(t.key, c.key, c.reason, now);
          markCancelled.run(c.key, now, t.key);
          pushed++;
        } else {
          supersede.run(`cancelled-by:${c.key}`, c.key, now, t.key);
          superseded++;
        }
      }
      corrections += pushed;
      setReason.run(`cancels:${base}`, now, c.key);
      outcome = pushed ? "correction" : "superseded";
    }
    resolve.run(base, outcome, now, c.key);
    resolved++;
  }
  // A newer mapping version rewrites skipped rows, cancels included: their resolved reason
  // (`cancels:<key>`) is the journal's knowledge, not the mapper's, so restore it.
  db.prepare(
    `UPDATE activities SET reason = 'cancels:' || c.resolved_key, updated_at = ?
     FROM cancellations c
     WHERE activities.key = c.key AND c.state = 'resolved' AND c.mode = 'reverse'
       AND activities.state = 'skipped' AND activities.reason <> 'cancels:' || c.resolved_key`,
  ).run(now);
  standCosts(db, now, keepCosts);
  const remaining =
    (db.prepare("SELECT COUNT(*) AS n FROM cancellations WHERE state = 'open'").get() as {
      n: number;
    }).n;
  return { resolved, superseded, corrections, open: Number(remaining) };
}

/**
 * Every resolved trade cancel hands its cancelled trade to `keepCosts` (whose write is a no-op
 * once the trade's `:fee` exists). Cancels resolved before costs were kept standing (mapping
 * version 3 superseded the commission with the trade) also get their unpushed cost legs back;
 * pushed rows are left alone (no push existed then).
 */
function standCosts(
  db: DatabaseSync,
  now: string,
  keepCosts: (original: ActivityPayload) => void,
): void {
  const cancels = (db.prepare(
    "SELECT key, account_id, resolved_key, reason FROM cancellations WHERE state = 'resolved'",
  ).all() as { key: string; account_id: string; resolved_key: string; reason: string }[])
    .filter((c) => costsSurvive(c.reason));
  const restore = db.prepare(
    `UPDATE activities SET state = 'pending', reason = NULL, cancelled_by = NULL, updated_at = ?
     WHERE key = ? AND account_id = ? AND state = 'superseded' AND cancelled_by = ?`,
  );
  const original = db.prepare(
    "SELECT payload FROM activities WHERE key = ? AND account_id = ? AND activity_type IS NOT NULL",
  );
  for (const c of cancels) {
    for (const leg of COST_LEGS) restore.run(now, `${c.resolved_key}:${leg}`, c.account_id, c.key);
    const found = original.get(c.resolved_key, c.account_id) as { payload: string } | undefined;
    if (found) keepCosts(JSON.parse(found.payload) as ActivityPayload);
  }
}
