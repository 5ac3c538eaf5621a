/**
 * Whether a Wealthfolio account can take activities. Only accounts whose holdings Wealthfolio
 * computes from activities can: `TRANSACTIONS`, or `NOT_SET`, which is recalculated the same
 * way. A `HOLDINGS` account ignores activities for its positions (§4.9), so pushing into one
 * would look successful and show nothing.
 */
import type { WfAccount } from "./client.ts";
import { WealthfolioAccountError } from "./errors.ts";

/** Tracking modes whose positions come from activities. */
export const ACTIVITY_TRACKING_MODES: ReadonlySet<string> = new Set(["TRANSACTIONS", "NOT_SET"]);

/**
 * The target account, or a WealthfolioAccountError naming what is wrong and what to do.
 * `purpose` says where the id came from, e.g. `IBKR_ACCOUNT_ID (for IBKR account U1234567)`.
 */
export function targetAccount(
  accounts: readonly WfAccount[],
  id: string,
  purpose: string,
  baseUrl: string,
): WfAccount {
  const account = accounts.find((a) => a.id === id);
  if (!account) {
    const known = accounts.filter((a) => !a.isArchived).map((a) => `${a.id} (${a.name})`);
    throw new WealthfolioAccountError(
      `Wealthfolio at ${baseUrl} has no account ${id}, named by ${purpose}; ` +
        (known.length ? `its accounts are ${known.join(", ")}` : "it has no accounts") +
        ". Nothing was written",
    );
  }
  if (account.isArchived) {
    throw new WealthfolioAccountError(
      `Wealthfolio account ${id} (${account.name}), named by ${purpose}, is archived; ` +
        "unarchive it or choose another. Nothing was written",
    );
  }
  if (!ACTIVITY_TRACKING_MODES.has(account.trackingMode)) {
    throw new WealthfolioAccountError(
      `Wealthfolio account ${id} (${account.name}), named by ${purpose}, tracks ${account.trackingMode}: ` +
        "its positions ignore activities. Set its tracking mode to TRANSACTIONS. Nothing was written",
    );
  }
  return account;
}
