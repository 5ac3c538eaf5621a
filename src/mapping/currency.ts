/**
 * Minor currency units. IBKR reports LSE amounts in GBP (major units) and they stay so; only a
 * row whose currency is itself a minor unit (`GBX`, `GBp`) is converted, ÷100 to GBP
 * (contracts/ibkr-flex.md §5.2).
 */
import { Decimal } from "decimal.js";

const MINOR_UNITS: Readonly<Record<string, { major: string; factor: Decimal }>> = {
  GBX: { major: "GBP", factor: new Decimal(100) },
  GBp: { major: "GBP", factor: new Decimal(100) },
};

/** A currency and the divisor that turns its amounts into that currency. */
export interface MajorCurrency {
  readonly currency: string;
  /** Converts an amount written in the row's currency into `currency`. */
  readonly convert: (amount: Decimal) => Decimal;
}

const IDENTITY = (amount: Decimal) => amount;

/** Example: `majorCurrency("GBX").convert(new Decimal(1550))` → 15.5 in `GBP`. */
export function majorCurrency(currency: string): MajorCurrency {
  const minor = MINOR_UNITS[currency];
  if (!minor) return { currency, convert: IDENTITY };
  return { currency: minor.major, convert: (amount) => amount.dividedBy(minor.factor) };
}
