/**
 * The statement's own books as referee: does what we mapped move the cash IBKR says moved, and
 * the positions? Pure: the caller collects the statement's mapped effects and its CashReport.
 */
import { Decimal } from "decimal.js";
import { parseFlexDecimal } from "../flex/row.ts";
import { CASH_CATEGORIES, type CashEffect } from "./cash_effect.ts";

/** Differences up to this much (in the currency) are rounding, not disagreement. */
export const TOLERANCE = new Decimal("0.01");

export interface CategoryBooks {
  readonly category: string;
  readonly ibkr: string;
  readonly mapped: string;
  readonly difference: string;
}

export interface CurrencyBooks {
  readonly currency: string;
  readonly startingCash: string;
  readonly endingCash: string;
  /** endingCash − startingCash: what the period moved, per IBKR. */
  readonly ibkr: string;
  /** What the mapped activities move in Wealthfolio. */
  readonly mapped: string;
  readonly difference: string;
  readonly balanced: boolean;
  /** Per CashReport column present in the statement, where IBKR and we differ or not. */
  readonly categories: readonly CategoryBooks[];
  /** `BASE_SUMMARY` when IBKR's figures come from the base summary (cash_report.ts says when). */
  readonly basis?: "BASE_SUMMARY";
}

/** One CashReportCurrency row of a currency (not BASE_SUMMARY), attributes as written. */
export interface CashReportRow {
  readonly currency: string;
  readonly attributes: Readonly<Record<string, string>>;
}

const ZERO = new Decimal(0);

/** Older or narrower reports split a category in two columns. */
const ALTERNATIVE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  depositWithdrawals: ["deposits", "withdrawals"],
};

function column(row: CashReportRow, name: string): Decimal | null {
  const value = row.attributes[name];
  if (value === undefined) return null;
  return parseFlexDecimal(value) ?? null;
}

/**
 * Compares mapped cash effects with the CashReport, currency by currency. A currency with
 * effects but no CashReport row counts against a zero report.
 */
export function balanceCash(
  report: readonly CashReportRow[],
  effects: readonly CashEffect[],
): CurrencyBooks[] {
  const currencies = new Set([...report.map((r) => r.currency), ...effects.map((e) => e.currency)]);
  const result: CurrencyBooks[] = [];
  for (const currency of [...currencies].sort()) {
    const row = report.find((r) => r.currency === currency) ?? { currency, attributes: {} };
    const mine = effects.filter((e) => e.currency === currency);
    const starting = column(row, "startingCash") ?? ZERO;
    const ending = column(row, "endingCash") ?? ZERO;
    const ibkr = ending.minus(starting);
    const mapped = mine.reduce((sum, e) => sum.plus(e.amount), ZERO);
    const difference = mapped.minus(ibkr);
    const categories: CategoryBooks[] = [];
    for (const [category, columns] of Object.entries(CASH_CATEGORIES)) {
      let values = columns.map((c) => column(row, c)).filter((v): v is Decimal => v !== null);
      const alternative = ALTERNATIVE_COLUMNS[category];
      if (values.length === 0 && alternative) {
        values = alternative.map((c) => column(row, c)).filter((v): v is Decimal => v !== null);
      }
      const ours = mine.filter((e) => e.category === category).reduce(
        (s, e) => s.plus(e.amount),
        ZERO,
      );
      if (values.length === 0 && ours.isZero()) continue;
      const theirs = values.reduce((s, v) => s.plus(v), ZERO);
      if (values.length === 0 && !ours.isZero()) {
        categories.push({
          category,
          ibkr: "(not in report)",
          mapped: ours.toFixed(),
          difference: ours.toFixed(),
        });
        continue;
      }
      categories.push({
        category,
        ibkr: theirs.toFixed(),
        mapped: ours.toFixed(),
        difference: ours.minus(theirs).toFixed(),
      });
    }
    result.push({
      currency,
      startingCash: starting.toFixed(),
      endingCash: ending.toFixed(),
      ibkr: ibkr.toFixed(),
      mapped: mapped.toFixed(),
      difference: difference.toFixed(),
      balanced: difference.abs().lte(TOLERANCE),
      categories,
    });
  }
  return result;
}

export interface PositionBooks {
  readonly instrument: string;
  readonly symbol: string | null;
  readonly start: string;
  readonly mappedChange: string;
  readonly ibkrEnd: string;
  readonly difference: string;
  readonly balanced: boolean;
}

/**
 * One change to an instrument's quantity as Wealthfolio applies it: `delta` shares in or out, or a
 * SPLIT multiplying the position by `ratio` (which is why order matters).
 */
export type PositionEvent =
  & { readonly instrument: string; readonly date: string }
  & ({ readonly delta: Decimal } | { readonly ratio: Decimal });

/**
 * Replays the events, by date (stable within a date), from the starting positions; returns each
 * instrument's change over the period. Example: start 100, SPLIT 1.25, SELL 5 → change +20.
 */
export function positionChanges(
  start: ReadonlyMap<string, Decimal>,
  events: readonly PositionEvent[],
): Map<string, Decimal> {
  const held = new Map(start);
  const ordered = [...events].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  for (const e of ordered) {
    const now = held.get(e.instrument) ?? ZERO;
    held.set(e.instrument, "delta" in e ? now.plus(e.delta) : now.times(e.ratio));
  }
  return new Map([...held].map(([k, v]) => [k, v.minus(start.get(k) ?? ZERO)]));
}

/** Start + mapped quantity changes against OpenPositions, per instrument (conid). */
export function balancePositions(
  start: ReadonlyMap<string, Decimal>,
  changes: ReadonlyMap<string, Decimal>,
  end: ReadonlyMap<string, Decimal>,
  symbols: ReadonlyMap<string, string>,
): PositionBooks[] {
  const instruments = new Set([...start.keys(), ...changes.keys(), ...end.keys()]);
  return [...instruments].sort().map((instrument) => {
    const s = start.get(instrument) ?? ZERO;
    const c = changes.get(instrument) ?? ZERO;
    const e = end.get(instrument) ?? ZERO;
    const difference = s.plus(c).minus(e);
    return {
      instrument,
      symbol: symbols.get(instrument) ?? null,
      start: s.toFixed(),
      mappedChange: c.toFixed(),
      ibkrEnd: e.toFixed(),
      difference: difference.toFixed(),
      // Quantities are exact in IBKR's statement; fractional shares keep up to 4 places.
      balanced: difference.abs().lt(new Decimal("0.0001")),
    };
  }).filter((p) => !(p.start === "0" && p.mappedChange === "0" && p.ibkrEnd === "0"));
}
