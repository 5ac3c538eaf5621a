/** The one way a mapping rule declines a row: an explicit, counted outcome with its reason. */
import type { RowOutcome } from "../domain/activity.ts";

/** Example: `skip("ibkr:U1:42", "U1", "2025-01-02", "unknown-cash-type:Fees Rebate", {...})`. */
export function skip(
  key: string,
  account: string,
  date: string | null,
  reason: string,
  summary: Record<string, string | null>,
): RowOutcome {
  return { kind: "skipped", skipped: { key, account, date, reason, summary } };
}
