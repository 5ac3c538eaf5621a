/**
 * Bonds and bills (`assetCategory="BOND"`, `"BILL"`): IBKR's quantity is the face value and its
 * price is in percent of par, so `tradeMoney = quantity × price / 100` (jal `ibkr.xml`: 2000 at
 * 63.709 → 1274.18; contracts §4.5). We book the face value as the quantity (what OpenPositions
 * reports) at price ÷ 100 per unit of face, and keep IBKR's quote in the metadata. A bond has no
 * exchange ticker, so it is booked under its ISIN (else its CUSIP) as a BOND.
 */
import { Decimal } from "decimal.js";
import type { InstrumentOutcome } from "./instruments.ts";
import type { TradeRow } from "./trades.ts";

const PAR_PERCENT = new Decimal(100);

/** What a bond is booked under: its ISIN, else its CUSIP; null when the row has neither. */
export function bondSymbol(ids: { isin: string | null; cusip: string | null }): string | null {
  return ids.isin ?? ids.cusip;
}

/** Example: `X 6 1/4 03/15/26` (ISIN US912909AN84) at 63.709 → `US912909AN84` at 0.63709. */
export function bondInstrument(row: TradeRow, price: Decimal): InstrumentOutcome {
  const identifier = bondSymbol({ isin: row.text("isin"), cusip: row.text("cusip") });
  if (identifier === null) return { ok: false, reason: "missing-field:isin" };
  return {
    ok: true,
    value: {
      symbol: identifier,
      exchangeMic: null,
      instrumentType: "BOND",
      unitPrice: price.dividedBy(PAR_PERCENT),
      metadata: { ibkr: { tradePrice: price.toFixed(), priceBasis: "percent-of-par" } },
    },
  };
}
