/** The journal's record of one instrument's position: the activities that moved it, oldest first. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Activity } from "../domain/activity.ts";
import { fromPayload } from "../domain/payload.ts";

/** Which activities to read. */
export interface InstrumentQuery {
  readonly account: string;
  readonly conid: string;
  /** Business dates up to this one (`YYYY-MM-DD`)… */
  readonly through: string;
  /** …including that day, or not. */
  readonly inclusive: boolean;
}

/**
 * Reads the activities that change a position, as mapped (pending, pushed or failed: not
 * superseded, not skipped), oldest first by their timestamp, then key.
 */
export class InstrumentActivities {
  readonly #inclusive: StatementSync;
  readonly #exclusive: StatementSync;

  constructor(db: DatabaseSync) {
    const sql = (op: string) =>
      `SELECT payload FROM activities
       WHERE account_id = ? AND state IN ('pending', 'pushed', 'failed') AND symbol IS NOT NULL
         AND activity_type IN ('BUY', 'SELL', 'TRANSFER_IN', 'TRANSFER_OUT', 'SPLIT')
         AND business_date ${op} ? AND json_extract(payload, '$.conid') = ?
       ORDER BY json_extract(payload, '$.date'), key`;
    this.#inclusive = db.prepare(sql("<="));
    this.#exclusive = db.prepare(sql("<"));
  }

  list(q: InstrumentQuery): Activity[] {
    const statement = q.inclusive ? this.#inclusive : this.#exclusive;
    return (statement.all(q.account, q.through, q.conid) as { payload: string }[])
      .map((r) => fromPayload(JSON.parse(r.payload)));
  }
}
