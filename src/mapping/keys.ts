/**
 * Idempotency keys for rows that lack IBKR's `transactionID` (SUMMARY-only cash exports, very
 * old trade exports). The key is built from the row's own facts, and an ordinal separates rows
 * that are identical in every one of them, so a re-run of the same statement gives the same keys.
 */
import { activityKey } from "../domain/activity.ts";

/** Hands out composite keys within one statement. */
export class CompositeKeys {
  readonly #seen = new Map<string, number>();

  /**
   * Example: `keys.next("U1", ["cash-summary", "2025-06-15", "Dividends", "500001", "USD", "600"])`
   * → `ibkr:U1:cash-summary:2025-06-15:Dividends:500001:USD:600`, then `…#2` for an identical row.
   */
  next(account: string, parts: readonly (string | null)[]): string {
    const base = parts.map((p) => (p ?? "-").replaceAll(/[\s:#]+/g, "_")).join(":");
    const n = (this.#seen.get(base) ?? 0) + 1;
    this.#seen.set(base, n);
    return activityKey(account, n === 1 ? base : `${base}#${n}`);
  }
}
