/**
 * What a Trade's instrument becomes in Wealthfolio: its symbol, its instrument type, and the unit
 * price that makes Wealthfolio's own arithmetic right.
 *
 * Wealthfolio books a BUY as cash −(quantity × unitPrice + fee) and a SELL as +(quantity ×
 * unitPrice − fee) (wealthfolio-api.md §5); the contract documents no way to send a contract
 * multiplier or a price basis with an activity. IBKR quotes options per share and bonds in percent
 * of par, with `tradeMoney = quantity × price × multiplier` (ibkr-flex.md §2.3, §4.5). So the
 * quantity stays IBKR's (contracts, face value) and the unit price carries the basis: per contract
 * for an option, per unit of face for a bond. IBKR's quoted price and multiplier are kept in the
 * activity's metadata. An instrument whose economics Wealthfolio cannot hold is skipped with a
 * reason, never booked as something it is not.
 */
import { Decimal } from "decimal.js";
import type { InstrumentType } from "../domain/activity.ts";
import { bondInstrument } from "./bonds.ts";
import { optionInstrument, tradeListing } from "./options.ts";
import { bookedUnder, securitySymbol } from "./symbols.ts";
import type { TradeRow } from "./trades.ts";

/** A Trade's instrument as booked: symbol, type, and the price per unit of IBKR's quantity. */
export interface BookedInstrument {
  readonly symbol: string;
  readonly exchangeMic: string | null;
  readonly instrumentType: InstrumentType;
  /** Price per unit of `quantity`, in the row's currency (minor units not yet converted). */
  readonly unitPrice: Decimal;
  /** IBKR's own quote when the unit price differs from it (metadata `ibkr`). */
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

export type InstrumentOutcome =
  | { readonly ok: true; readonly value: BookedInstrument }
  | { readonly ok: false; readonly reason: string };

/**
 * Categories Wealthfolio cannot represent: skipped whatever the row says (docs/cli.md).
 * A future (and a CFD) moves only variation margin, never its notional, while a Wealthfolio BUY
 * debits quantity × price; Wealthfolio has no future type. An option on a future has no OCC
 * symbol and its exercise delivers a future.
 */
const UNSUPPORTED: ReadonlySet<string> = new Set(["FUT", "FOP", "CFD", "FXCFD", "FSFOP"]);

/** IBKR asset categories we book, and what Wealthfolio holds each as: for trades and moves alike. */
const INSTRUMENT_TYPES: Readonly<Record<string, InstrumentType>> = {
  STK: "EQUITY",
  FUND: "EQUITY",
  OPT: "OPTION",
  BOND: "BOND",
  BILL: "BOND",
};

/** How far IBKR's tradeMoney may be from quantity × unit price: its own rounding to the cent. */
const TRADE_VALUE_TOLERANCE = new Decimal("0.01");

/**
 * Books the instrument of a trade execution of `quantity` at IBKR's `price`.
 *
 * @example
 * // An OPT row `ASML  260130C01170000`, multiplier 100, tradeMoney 2268:
 * bookInstrument(row, "OPT", new Decimal(1), new Decimal("22.68"))
 * // → { ok: true, value: { symbol: "ASML260130C01170000", instrumentType: "OPTION", unitPrice: 2268, … } }
 */
export function bookInstrument(
  row: TradeRow,
  category: string,
  quantity: Decimal,
  price: Decimal,
): InstrumentOutcome {
  const type = instrumentTypeOf(category);
  if (!type.ok) return type;
  let booked: InstrumentOutcome;
  switch (type.value) {
    case "EQUITY":
      booked = equityInstrument(row, price);
      break;
    case "OPTION":
      booked = optionInstrument(row, price);
      break;
    case "BOND":
      booked = bondInstrument(row, price);
      break;
    default:
      return { ok: false, reason: `not-yet-mapped:asset-category:${category}` };
  }
  if (!booked.ok || booked.value.unitPrice.equals(price)) return booked;
  return agreesWithTradeMoney(row, quantity, booked.value.unitPrice)
    ? booked
    : { ok: false, reason: `trade-value-mismatch:${category}` };
}

/**
 * Whether a category can be booked at all, as what, or why not; a trade and a move of the same
 * category get the same answer.
 *
 * @example instrumentTypeOf("OPT") // → { ok: true, value: "OPTION" }
 * @example instrumentTypeOf("FUT") // → { ok: false, reason: "unsupported-instrument:FUT" }
 */
export function instrumentTypeOf(
  category: string | null,
): { ok: true; value: InstrumentType } | { ok: false; reason: string } {
  if (category !== null && UNSUPPORTED.has(category)) {
    return { ok: false, reason: `unsupported-instrument:${category}` };
  }
  const type = category === null ? undefined : INSTRUMENT_TYPES[category];
  return type
    ? { ok: true, value: type }
    : { ok: false, reason: `not-yet-mapped:asset-category:${category ?? "none"}` };
}

function equityInstrument(row: TradeRow, price: Decimal): InstrumentOutcome {
  const symbol = securitySymbol({ ...tradeListing(row), assetCategory: row.text("assetCategory") });
  return bookedUnder(symbol, { instrumentType: "EQUITY", unitPrice: price, metadata: null });
}

/**
 * Where the unit price is not IBKR's quote, IBKR's own trade value must confirm the basis:
 * |quantity × unitPrice| = |tradeMoney| (else |proceeds|), to the cent. A row with neither is
 * booked on the documented basis alone (contracts §2.3, §4.5).
 */
function agreesWithTradeMoney(row: TradeRow, quantity: Decimal, unitPrice: Decimal): boolean {
  const reported = row.decimal("tradeMoney") ?? row.decimal("proceeds");
  if (reported === null) return true;
  return quantity.times(unitPrice).abs().minus(reported.abs()).abs().lte(TRADE_VALUE_TOLERANCE);
}
