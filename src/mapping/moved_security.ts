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
import { UNSUPPORTED } from "./instruments.ts";
import { optionSymbol } from "./options.ts";
import { bookedUnder, securitySymbol } from "./symbols.ts";

/** IBKR asset categories a move can book, and what Wealthfolio holds each as. */
const MOVED_TYPES: Readonly<Record<string, InstrumentType>> = {
  STK: "EQUITY",
  FUND: "EQUITY",
  OPT: "OPTION",
  BOND: "BOND",
  BILL: "BOND",
};

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
 * Whether a category can be moved at all, as what, or why not (the reasons a trade of the same
 * category gets: `unsupported-instrument:FUT`, `not-yet-mapped:asset-category:WAR`).
 *
 * @example movedType("OPT") // → { ok: true, value: "OPTION" }
 */
export function movedType(
  category: string | null,
): { ok: true; value: InstrumentType } | { ok: false; reason: string } {
  if (category !== null && UNSUPPORTED.has(category)) {
    return { ok: false, reason: `unsupported-instrument:${category}` };
  }
  const type = category === null ? undefined : MOVED_TYPES[category];
  return type
    ? { ok: true, value: type }
    : { ok: false, reason: `not-yet-mapped:asset-category:${category ?? "none"}` };
}

/**
 * The security a move names by its row, for an instrument the journal has never booked.
 *
 * @example
 * movedSecurity({ symbol: "X 6 1/4 03/15/26", isin: "US912909AN84", … }, "BOND")
 * // → { ok: true, value: { symbol: "US912909AN84", exchangeMic: null, instrumentType: "BOND" } }
 */
export function movedSecurity(listing: MovedListing, category: string | null): MovedOutcome {
  const type = movedType(category);
  if (!type.ok) return type;
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
