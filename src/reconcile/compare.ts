/**
 * Broker truth against Wealthfolio truth: the statement's OpenPositions (SUMMARY) and CashReport
 * ending cash against Wealthfolio's security and cash holdings. Pure: both sides come in as plain
 * data, lines with their drift go out.
 *
 * Drift is always IBKR − Wealthfolio (the runbook's `broker_qty − wf_qty`). A position or
 * currency on one side only is drift too: the other side counts as zero.
 */
import { Decimal } from "decimal.js";
import type { Holding } from "../wealthfolio/holdings.ts";
import { type Listing, listingKey, listingLabel, listingOf } from "./listing.ts";

/** One OpenPositions SUMMARY position of the statement (rows of the same conid summed). */
export interface BrokerPosition {
  readonly conid: string | null;
  readonly isin: string | null;
  /** The symbol as IBKR wrote it (`BRK B`). */
  readonly ibkrSymbol: string;
  /** The Yahoo-form symbol we book it under (`BRK-B`), or null when none can be derived. */
  readonly symbol: string | null;
  readonly exchangeMic: string | null;
  /** Why no symbol could be derived (`unknown-venue:XYZ`), when `symbol` is null. */
  readonly symbolProblem: string | null;
  /** Other listings our own journal booked this conid or ISIN under (e.g. before a rename). */
  readonly aliases: readonly Listing[];
  /** Wealthfolio asset ids our own asset records link to this instrument, when known. */
  readonly wealthfolioAssetIds: readonly string[];
  readonly quantity: Decimal;
}

/** One CashReport currency row: the ending cash IBKR reports. */
export interface BrokerCash {
  readonly currency: string;
  readonly endingCash: Decimal;
}

/** Differences up to these (inclusive) are not drift. */
export interface Tolerance {
  /**
   * Shares. Wealthfolio sends quantities as floats; its decimals survive that to ~15 digits,
   * and IBKR's smallest fraction is 0.0001, so a millionth separates noise from a real fraction.
   */
  readonly quantity: Decimal;
  /** Currency units: a cent, as `verify-books` uses. */
  readonly cash: Decimal;
}

export const DEFAULT_TOLERANCE: Tolerance = {
  quantity: new Decimal("0.000001"),
  cash: new Decimal("0.01"),
};

export type LineOutcome =
  | "ok"
  | "differs"
  | "missing-in-wealthfolio"
  | "only-in-wealthfolio";

/** How a Wealthfolio holding was found for a broker position. */
export type MatchedBy = "asset-id" | "listing" | "alias" | "ticker";

export interface PositionLine {
  /** Stable identity within an account: `conid:<id>`, `ibkr:<symbol>`, or `wf:<instrument id>`. */
  readonly item: string;
  /** The label of reports and metrics: our Yahoo-form symbol (`VUAG.L`). */
  readonly symbol: string;
  readonly exchangeMic: string | null;
  readonly conid: string | null;
  readonly isin: string | null;
  readonly ibkr: Decimal | null;
  readonly wealthfolio: Decimal | null;
  /** IBKR − Wealthfolio, exact. */
  readonly drift: Decimal;
  readonly outcome: LineOutcome;
  readonly matchedBy: MatchedBy | null;
  readonly wealthfolioInstrumentIds: readonly string[];
  /** Why a broker position could not be named for Wealthfolio, when that is the cause. */
  readonly note: string | null;
}

export interface CashLine {
  readonly currency: string;
  readonly ibkr: Decimal | null;
  readonly wealthfolio: Decimal | null;
  readonly drift: Decimal;
  readonly outcome: LineOutcome;
}

const ZERO = new Decimal(0);

function outcomeOf(
  ibkr: Decimal | null,
  wealthfolio: Decimal | null,
  drift: Decimal,
  tolerance: Decimal,
): LineOutcome {
  if (drift.abs().lte(tolerance)) return "ok";
  if (wealthfolio === null) return "missing-in-wealthfolio";
  if (ibkr === null) return "only-in-wealthfolio";
  return "differs";
}

/**
 * Matches each broker position to Wealthfolio security holdings, most certain first: our asset
 * records' Wealthfolio id, then the listing we book under, then a listing our journal booked the
 * same conid/ISIN under, then the ticker alone where one side has no MIC. A holding is used once.
 */
export function comparePositions(
  broker: readonly BrokerPosition[],
  holdings: readonly Holding[],
  tolerance: Decimal = DEFAULT_TOLERANCE.quantity,
): PositionLine[] {
  const securities = holdings.filter((h) => h.holdingType === "security");
  const listings = securities.map((h) => listingOf(h.symbol ?? "", h.exchangeMic));
  const used = new Set<number>();
  const matches = new Map<BrokerPosition, { by: MatchedBy; indexes: number[] }>();

  const pass = (by: MatchedBy, accepts: (p: BrokerPosition, i: number) => boolean) => {
    for (const p of broker) {
      if (matches.has(p)) continue;
      const indexes = securities.map((_, i) => i).filter((i) => !used.has(i) && accepts(p, i));
      if (indexes.length === 0) continue;
      indexes.forEach((i) => used.add(i));
      matches.set(p, { by, indexes });
    }
  };
  const own = (p: BrokerPosition) => p.symbol === null ? null : listingOf(p.symbol, p.exchangeMic);
  pass("asset-id", (p, i) => {
    const id = securities[i].instrumentId;
    return id !== null && p.wealthfolioAssetIds.includes(id);
  });
  pass("listing", (p, i) => {
    const l = own(p);
    return l !== null && listingKey(l) === listingKey(listings[i]);
  });
  pass("alias", (p, i) => p.aliases.some((a) => listingKey(a) === listingKey(listings[i])));
  // A MIC missing on one side (a US equity booked without one) still names the same ticker,
  // but only when exactly one candidate is left: two would be a guess.
  for (const p of broker) {
    if (matches.has(p)) continue;
    const l = own(p);
    if (l === null) continue;
    const candidates = securities.map((_, i) => i).filter((i) =>
      !used.has(i) && listings[i].ticker === l.ticker &&
      (listings[i].mic === null || l.mic === null)
    );
    if (candidates.length === 1) {
      used.add(candidates[0]);
      matches.set(p, { by: "ticker", indexes: candidates });
    }
  }

  const lines: PositionLine[] = broker.map((p) => {
    const match = matches.get(p);
    const wealthfolio = match
      ? match.indexes.reduce((sum, i) => sum.plus(securities[i].quantity), ZERO)
      : null;
    const drift = p.quantity.minus(wealthfolio ?? ZERO);
    return {
      item: p.conid ? `conid:${p.conid}` : `ibkr:${p.ibkrSymbol}`,
      symbol: p.symbol ?? p.ibkrSymbol,
      exchangeMic: p.exchangeMic,
      conid: p.conid,
      isin: p.isin,
      ibkr: p.quantity,
      wealthfolio,
      drift,
      outcome: outcomeOf(p.quantity, wealthfolio, drift, tolerance),
      matchedBy: match?.by ?? null,
      wealthfolioInstrumentIds: match
        ? match.indexes.map((i) => securities[i].instrumentId ?? securities[i].id)
        : [],
      note: !match && p.symbolProblem ? p.symbolProblem : null,
    };
  });
  securities.forEach((h, i) => {
    if (used.has(i)) return;
    const drift = h.quantity.negated();
    lines.push({
      item: `wf:${h.instrumentId ?? h.id}`,
      symbol: listingLabel(listings[i]),
      exchangeMic: listings[i].mic,
      conid: null,
      isin: null,
      ibkr: null,
      wealthfolio: h.quantity,
      drift,
      outcome: outcomeOf(null, h.quantity, drift, tolerance),
      matchedBy: null,
      wealthfolioInstrumentIds: [h.instrumentId ?? h.id],
      note: null,
    });
  });
  return lines.sort((a, b) => a.symbol.localeCompare(b.symbol) || a.item.localeCompare(b.item));
}

/** Ending cash per currency against Wealthfolio's cash holdings (summed per currency). */
export function compareCash(
  broker: readonly BrokerCash[],
  holdings: readonly Holding[],
  tolerance: Decimal = DEFAULT_TOLERANCE.cash,
): CashLine[] {
  const wf = new Map<string, Decimal>();
  for (const h of holdings) {
    if (h.holdingType !== "cash") continue;
    const currency = (h.currency ?? h.symbol ?? "?").toUpperCase();
    wf.set(currency, (wf.get(currency) ?? ZERO).plus(h.quantity));
  }
  const ibkr = new Map(broker.map((c) => [c.currency.toUpperCase(), c.endingCash]));
  const currencies = [...new Set([...ibkr.keys(), ...wf.keys()])].sort();
  return currencies.map((currency) => {
    const b = ibkr.get(currency) ?? null;
    const w = wf.get(currency) ?? null;
    const drift = (b ?? ZERO).minus(w ?? ZERO);
    return {
      currency,
      ibkr: b,
      wealthfolio: w,
      drift,
      outcome: outcomeOf(b, w, drift, tolerance),
    };
  });
}

/** Holdings neither compared as securities nor as cash, by kind (e.g. `alternativeAsset`). */
export function uncomparedHoldings(holdings: readonly Holding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const h of holdings) {
    if (h.holdingType === "security" || h.holdingType === "cash") continue;
    counts[h.holdingType] = (counts[h.holdingType] ?? 0) + 1;
  }
  return counts;
}
