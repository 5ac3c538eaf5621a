/**
 * Which Wealthfolio account each IBKR account is reconciled against: the one its activities are
 * pushed into. `IBKR_ACCOUNTS` names accounts explicitly; every other IBKR account the journal has
 * statements of goes to `IBKR_ACCOUNT_ID`, as in the push.
 */
import type { DatabaseSync } from "node:sqlite";
import { UsageError } from "./errors.ts";

/** An IBKR account and the Wealthfolio account it is booked into. */
export interface AccountPair {
  readonly ibkr: string;
  readonly wealthfolio: string;
}

/** The configuration the pairs come from. */
export interface AccountMapping {
  /** `IBKR_ACCOUNTS`: IBKR account → Wealthfolio account. */
  readonly accountMap: Readonly<Record<string, string>>;
  /** `IBKR_ACCOUNT_ID`: the Wealthfolio account of IBKR accounts not in the map. */
  readonly defaultAccountId: string | null;
}

/**
 * The pairs for the mapped accounts and the journal's, sorted by IBKR account. An account the
 * journal has statements of but no Wealthfolio account is configured for is a UsageError: it
 * would otherwise silently never be reconciled.
 *
 * @example accountPairs({ accountMap: {}, defaultAccountId: "wf-1" }, ["U1234567"]) // [{ ibkr: "U1234567", wealthfolio: "wf-1" }]
 */
export function accountPairs(mapping: AccountMapping, journalAccounts: readonly string[]) {
  const ids = [...new Set([...Object.keys(mapping.accountMap), ...journalAccounts])].sort();
  return ids.map((ibkr): AccountPair => {
    const wealthfolio = mapping.accountMap[ibkr] ?? mapping.defaultAccountId;
    if (!wealthfolio) {
      throw new UsageError(
        `no Wealthfolio account to reconcile IBKR account ${ibkr} against: set IBKR_ACCOUNT_ID, ` +
          `or add ${ibkr}=<wealthfolio-account-id> to IBKR_ACCOUNTS. Nothing was reconciled`,
      );
    }
    return { ibkr, wealthfolio };
  });
}

/** Where a Wealthfolio account id came from, for messages about it. */
export function namedBy(mapping: AccountMapping, wealthfolioAccountId: string): string {
  const ibkr = Object.entries(mapping.accountMap).filter(([, wf]) => wf === wealthfolioAccountId)
    .map(([ibkr]) => ibkr);
  return ibkr.length ? `IBKR_ACCOUNTS (for IBKR account ${ibkr.join(", ")})` : "IBKR_ACCOUNT_ID";
}

/** The IBKR accounts the journal has statements of. */
export function journalAccounts(db: DatabaseSync): string[] {
  return (db.prepare("SELECT DISTINCT account_id FROM statement_periods ORDER BY account_id")
    .all() as { account_id: string }[]).map((r) => r.account_id);
}
