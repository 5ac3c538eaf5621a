/**
 * The security a position move books: a corporate-action leg or a transfer, rows that carry no
 * price. It must land on the asset the trades of the same instrument book (instruments.ts), or
 * Wealthfolio would hold one instrument as two assets: an option under its OCC symbol as an
 * OPTION, a bond under its ISIN as a BOND, a share under its Yahoo-form ticker as an EQUITY.
 * Quantities stay IBKR's (contracts, face value), as for the trades, so a cost carried from the
 * journal is already per unit of that quantity.
 */
import type { InstrumentType } from "../domain/activity.ts";
import { bondSymbol } from "./bonds.ts";
import { instrumentTypeOf } from "./instruments.ts";
import { optionSymbol } from "./options.ts";
import { bookedUnder, securitySymbol } from "./symbols.ts";

/** The row fields a moved security is named by. */
export interface MovedListing {
  readonly symbol: string | null;
  readonly listingExchange: string | null;
  readonly currency: string | null;
  readonly isin: string | null;
  readonly cusip: string | null;
}

export interface MovedSecurity {
  readonly symbol: string;
  readonly exchangeMic: string | null;
  readonly instrumentType: InstrumentType;
}

export type MovedOutcome =
  | { readonly ok: true; readonly value: MovedSecurity }
  | { readonly ok: false; readonly reason: string };

/**
 * The security a move books: the one the journal already holds under the move's conid (`held`),
 * so the move lands on the asset Wealthfolio has whatever IBKR now calls it (`X.OLD` on VALUE);
 * else, for an instrument the journal has never booked, the one its row names.
 *
 * @example
 * movedSecurity({ symbol: "X 6 1/4 03/15/26", isin: "US912909AN84", … }, "BOND", null)
 * // → { ok: true, value: { symbol: "US912909AN84", exchangeMic: null, instrumentType: "BOND" } }
 */
export function movedSecurity(
  listing: MovedListing,
  category: string | null,
  held: { readonly symbol: string; readonly exchangeMic: string | null } | null,
): MovedOutcome {
  const type = instrumentTypeOf(category);
  if (!type.ok) return type;
  if (held !== null) {
    return {
      ok: true,
      value: { symbol: held.symbol, exchangeMic: held.exchangeMic, instrumentType: type.value },
    };
  }
  switch (type.value) {
    case "BOND": {
      const symbol = bondSymbol(listing);
      return symbol === null
        ? { ok: false, reason: "missing-field:isin" }
        : { ok: true, value: { symbol, exchangeMic: null, instrumentType: "BOND" } };
    }
    case "OPTION":
      return bookedUnder(optionSymbol({ ...listing, exchange: null }), {
        instrumentType: "OPTION",
      });
    default: {
      const symbol = securitySymbol({ ...listing, exchange: null, assetCategory: category });
      return bookedUnder(symbol, { instrumentType: type.value });
    }
  }
}
