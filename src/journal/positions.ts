/** The journal's record of instruments' positions: the activities that moved them, oldest first. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Activity } from "../domain/activity.ts";
import { fromPayload } from "../domain/payload.ts";

/** The states whose activities stand (not superseded, not skipped). */
const STANDING = "state IN ('pending', 'pushed', 'failed')";
/** The activity types that change a quantity. */
const MOVING = "activity_type IN ('BUY', 'SELL', 'TRANSFER_IN', 'TRANSFER_OUT', 'SPLIT')";

/** Whether an activity is one the position reads count (a security activity that moves it). */
export function movesPosition(a: Activity): boolean {
  return a.symbol !== null && a.conid !== null &&
    ["BUY", "SELL", "TRANSFER_IN", "TRANSFER_OUT", "SPLIT"].includes(a.activityType);
}

/**
 * Reads the standing activities that change the positions of some conids, in every account,
 * oldest first by timestamp, then key. One pass over the table, whatever the number of conids:
 * the conid lives in the payload, and an index on it would slow every import for the sake of
 * the few statements with corporate actions (docs/benchmarks.md).
 */
export function activitiesOfConids(db: DatabaseSync, conids: readonly string[]): Activity[] {
  if (conids.length === 0) return [];
  const statement: StatementSync = db.prepare(
    `SELECT payload FROM activities
     WHERE ${STANDING} AND symbol IS NOT NULL AND ${MOVING}
       AND json_extract(payload, '$.conid') IN (${conids.map(() => "?").join(", ")})
     ORDER BY json_extract(payload, '$.date'), key`,
  );
  return (statement.all(...conids) as { payload: string }[])
    .map((r) => fromPayload(JSON.parse(r.payload)));
}
