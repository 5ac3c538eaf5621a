/**
 * Options (`assetCategory="OPT"`): booked in contracts under their compact OCC symbol, priced per
 * contract (IBKR's per-share quote × multiplier), so Wealthfolio's quantity × unitPrice is IBKR's
 * tradeMoney (contracts §4.5; instruments.ts says why the multiplier goes into the price).
 *
 * Assignment, exercise and expiry reach us as BookTrades (notes `A`, `Ex`, `Ep`): the option leg
 * at price 0 closes the contracts, the stock leg is an ordinary STK trade at the strike. They are
 * the only record we book; the OptionEAE section repeats them and is never imported.
 */
import type { Decimal } from "decimal.js";
import type { InstrumentOutcome } from "./instruments.ts";
import { bookedUnder, securitySymbol, type SymbolOutcome } from "./symbols.ts";
import type { TradeRow } from "./trades.ts";

/** An OCC option symbol without its padding: root, yymmdd, C/P, strike × 1000 in 8 digits. */
const OCC = /^[A-Z0-9.]{1,6}\d{6}[CP]\d{8}$/;

/** The row fields an option is named by. */
export interface OptionListing {
  readonly symbol: string | null;
  readonly listingExchange: string | null;
  readonly exchange: string | null;
  readonly currency: string | null;
}

/** A trade's listing fields: what its option (or share, instruments.ts) is named by. */
export function tradeListing(row: TradeRow): OptionListing {
  return {
    symbol: row.text("symbol"),
    listingExchange: row.text("listingExchange"),
    exchange: row.text("exchange"),
    currency: row.text("currency"),
  };
}

/**
 * The compact OCC symbol an option is booked under, or why there is none: Wealthfolio recognises
 * an option by its OCC form, and anything else would become an equity.
 *
 * @example optionSymbol({ symbol: "ASML  260130C01170000", listingExchange: "CBOE", … })
 * // → { ok: true, value: { symbol: "ASML260130C01170000", exchangeMic: "XCBO", venue: "CBOE" } }
 */
export function optionSymbol(listing: OptionListing): SymbolOutcome {
  const symbol = securitySymbol({ ...listing, assetCategory: "OPT" });
  if (!symbol.ok) return symbol;
  if (!OCC.test(symbol.value.symbol)) return { ok: false, reason: "non-occ-option-symbol" };
  return symbol;
}

/** Example: `ASML  260130C01170000`, multiplier 100, at 22.68 → `ASML260130C01170000` at 2268. */
export function optionInstrument(row: TradeRow, price: Decimal): InstrumentOutcome {
  const multiplier = row.decimal("multiplier");
  if (multiplier === null) return { ok: false, reason: "missing-field:multiplier" };
  if (!multiplier.gt(0)) return { ok: false, reason: "unexpected-multiplier" };
  return bookedUnder(optionSymbol(tradeListing(row)), {
    instrumentType: "OPTION",
    unitPrice: price.times(multiplier),
    metadata: { ibkr: { tradePrice: price.toFixed(), multiplier: multiplier.toFixed() } },
  });
}

/** What a BookTrade's notes say happened to an option: `A`, `Ex`, `Ep` (contracts §2.3). */
const EXERCISE_CODES: Readonly<Record<string, string>> = {
  A: "assignment",
  Ex: "exercise",
  Ep: "expiry",
};

/**
 * The assignment / exercise / expiry a trade's notes record, for its activity's notes.
 *
 * @example exerciseEvent("A;P") // → "assignment"
 */
export function exerciseEvent(notes: string | null): string | null {
  for (const code of (notes ?? "").split(";")) {
    const event = EXERCISE_CODES[code.trim()];
    if (event) return event;
  }
  return null;
}
