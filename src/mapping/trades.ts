/**
 * Trades → BUY / SELL (and a separate FEE when the commission is charged in another currency).
 *
 * Each rule reads like the runbook: one case per line, each skip with its reason. FX conversions
 * go to fx.ts, cancels are undos (never booked), and what the instrument becomes (stock, option,
 * bond, or a skip for what Wealthfolio cannot hold) is instruments.ts' decision.
 */
import { Decimal } from "decimal.js";
import {
  type Activity,
  activityKey,
  type RowOutcome,
  sourceRecordIdOf,
} from "../domain/activity.ts";
import { activityTimestamp } from "../flex/dates.ts";
import type { FlexRow } from "../flex/row.ts";
import type { TRADE } from "../flex/schema.ts";
import { majorCurrency } from "./currency.ts";
import type { CompositeKeys } from "./keys.ts";
import { mapFxConversion } from "./fx.ts";
import { bookInstrument } from "./instruments.ts";
import { exerciseEvent } from "./options.ts";
import { cashActivity } from "./cash_activity.ts";
import { skip } from "./skip.ts";

export type TradeRow = FlexRow<typeof TRADE>;

const ZERO = new Decimal(0);

/** Whether a `<Trade>` is an execution to import rather than an aggregate (contracts §2.3). */
export function isExecution(row: TradeRow): boolean {
  const level = row.text("levelOfDetail");
  return level === null || level === "EXECUTION";
}

/** The key of a trade row: its transactionID, else a composite of its own facts. */
export function tradeKey(row: TradeRow, keys: CompositeKeys): string {
  const account = row.context.accountId;
  const id = row.ibkrId;
  if (id) return activityKey(account, id);
  // tradeID alone is not enough: a re-booking after a cancel re-uses it (contracts §4.3).
  return keys.next(account, [
    "trade",
    ...(row.text("tradeID") ? [row.text("tradeID")] : []),
    row.date("tradeDate") ?? row.dateTime("dateTime")?.date ?? null,
    row.text("conid") ?? row.text("symbol"),
    row.decimal("quantity")?.toFixed() ?? null,
    row.decimal("tradePrice")?.toFixed() ?? null,
  ]);
}

/** Maps one trade execution. */
export function mapTrade(row: TradeRow, key: string): RowOutcome {
  const account = row.context.accountId;
  const category = row.text("assetCategory");
  const summary = () => tradeSummary(row);
  const businessDate = row.date("tradeDate") ?? row.dateTime("dateTime")?.date;
  if (!businessDate) throw row.error("tradeDate", "is required for a trade and missing");

  if (isCancel(row)) return mapCancel(row, key, businessDate, summary());
  if (category === "CASH") {
    return mapFxConversion(row, key, businessDate, tradeInstant(row), summary);
  }
  if (category === null) {
    return skip(key, account, businessDate, "not-yet-mapped:asset-category:none", summary());
  }

  const quantity = row.decimal("quantity");
  if (quantity === null) {
    return skip(key, account, businessDate, "missing-field:quantity", summary());
  }
  if (quantity.isZero()) return skip(key, account, businessDate, "zero-quantity", summary());
  const price = row.decimal("tradePrice");
  if (price === null) {
    return skip(key, account, businessDate, "missing-field:tradePrice", summary());
  }

  const instrument = bookInstrument(row, category, quantity, price.abs());
  if (!instrument.ok) return skip(key, account, businessDate, instrument.reason, summary());

  const rawCurrency = row.text("currency");
  if (!rawCurrency) return skip(key, account, businessDate, "missing-field:currency", summary());
  const money = majorCurrency(rawCurrency);
  const commissionCurrency = row.text("ibCommissionCurrency") ?? rawCurrency;
  const commission = row.decimal("ibCommission") ?? ZERO;
  const taxes = row.decimal("taxes") ?? ZERO;
  const commissionMoney = majorCurrency(commissionCurrency);
  // Compared as booked: a GBX trade with its commission in GBP is all GBP once normalised.
  const commissionInTradeCurrency = commissionMoney.currency === money.currency;
  // In the booked currency. IBKR signs costs negative; Wealthfolio wants a positive fee.
  const cost = money.convert(taxes)
    .plus(commissionInTradeCurrency ? commissionMoney.convert(commission) : ZERO)
    .negated();

  const timestamp = activityTimestamp(businessDate, tradeInstant(row));
  const proceeds = row.decimal("proceeds");
  const tradeId = row.text("tradeID");
  const activities: Activity[] = [];
  const base = {
    account,
    date: timestamp,
    conid: row.text("conid"),
    isin: row.text("isin"),
    groupKey: null,
  } as const;

  activities.push({
    ...base,
    key,
    activityType: quantity.lt(0) ? "SELL" : "BUY",
    subtype: null,
    symbol: instrument.value.symbol,
    exchangeMic: instrument.value.exchangeMic,
    instrumentType: instrument.value.instrumentType,
    name: row.text("description"),
    quantity: quantity.abs(),
    unitPrice: money.convert(instrument.value.unitPrice),
    amount: proceeds === null ? null : money.convert(proceeds.abs()),
    fee: cost.lt(0) ? ZERO : cost,
    currency: money.currency,
    notes: tradeNotes(tradeId, exerciseEvent(row.text("notes"))),
    sourceRecordId: sourceRecordIdOf(key),
    metadata: instrument.value.metadata,
    matchKey: tradeMatchKey(row),
  });
  // A rebate larger than the costs is money received, not a negative fee.
  if (cost.lt(0)) {
    activities.push(
      cashLeg(base, `${key}:rebate`, "CREDIT", "REBATE", cost.abs(), money.currency, row, key),
    );
  }
  if (!commissionInTradeCurrency && !commission.isZero()) {
    activities.push(
      commission.lt(0)
        ? cashLeg(
          base,
          `${key}:commission`,
          "FEE",
          null,
          commission.abs(),
          commissionCurrency,
          row,
          key,
        )
        : cashLeg(
          base,
          `${key}:commission`,
          "CREDIT",
          "REBATE",
          commission,
          commissionCurrency,
          row,
          key,
        ),
    );
  }
  return { kind: "activities", activities };
}

/** Example: `tradeNotes("7001", "assignment")` → `IBKR tradeID 7001 (assignment)`. */
function tradeNotes(tradeId: string | null, event: string | null): string | null {
  const text = [tradeId ? `IBKR tradeID ${tradeId}` : "IBKR trade", event ? `(${event})` : null]
    .filter((part) => part !== null).join(" ");
  return tradeId || event ? text : null;
}

function cashLeg(
  base: Pick<Activity, "account" | "date" | "conid" | "isin">,
  key: string,
  activityType: "FEE" | "CREDIT",
  subtype: string | null,
  amount: Decimal,
  currency: string,
  row: TradeRow,
  parentKey: string,
): Activity {
  return cashActivity({
    ...base,
    key,
    activityType,
    subtype,
    amount,
    currency,
    notes: `IBKR commission on ${row.text("symbol") ?? "trade"} (${parentKey})`,
    groupKey: null,
  });
}

/**
 * What a cancel can find a trade by when it does not name the transactionID: its tradeID, or
 * for a fractional-share sale (empty tradeID) its instrument and quantity.
 */
export function tradeMatchKey(row: TradeRow): string | null {
  const tradeId = row.text("tradeID");
  if (tradeId && tradeId !== "0") return `trade:${tradeId}`;
  if (row.text("transactionType")?.startsWith("FracShare")) {
    const quantity = row.decimal("quantity");
    const instrument = row.text("conid") ?? row.text("symbol");
    if (quantity && instrument) return `fracshare:${instrument}:${quantity.abs().toFixed()}`;
  }
  return null;
}

/**
 * A cancel undoes the execution it names: `origTransactionID`, else `origTradeID`, else (for a
 * FracShareCancel, which names nothing) the fractional sale of the same instrument and quantity.
 * It is never booked itself.
 */
function mapCancel(
  row: TradeRow,
  key: string,
  businessDate: string,
  summary: Record<string, string | null>,
): RowOutcome {
  const account = row.context.accountId;
  const id = (name: "origTransactionID" | "origTradeID") => {
    const value = row.text(name);
    return value && /^\d+$/.test(value) && value !== "0" ? value : null;
  };
  const origTransaction = id("origTransactionID");
  const origTrade = id("origTradeID");
  const targetKey = origTransaction ? activityKey(account, origTransaction) : null;
  const targetMatch = targetKey
    ? null
    : origTrade
    ? `trade:${origTrade}`
    : row.text("transactionType") === "FracShareCancel"
    ? tradeMatchKey(row)
    : null;
  if (!targetKey && !targetMatch) {
    return skip(key, account, businessDate, "cancel-without-original", summary);
  }
  return {
    kind: "skipped",
    skipped: { key, account, date: businessDate, reason: "cancellation:trade-cancel", summary },
    cancels: { mode: "reverse", targetKey, targetMatch, reason: "trade-cancel" },
  };
}

/**
 * What a cancelled trade leaves booked: the fee it carried (commission and taxes in the trade
 * currency), as a FEE leg `:fee` on the trade's own key, on the trade's date. IBKR's cancel does
 * not refund it (domain `costsSurvive`); the trade's other cost legs simply stay.
 *
 * @example
 * // buy = the BUY `ibkr:U1:42` with fee 2.4444 EUR
 * cancelledTradeFee(buy) // → FEE 2.4444 EUR keyed `ibkr:U1:42:fee`
 */
export function cancelledTradeFee(original: Activity): Activity | null {
  const fee = original.fee;
  if (original.activityType !== "BUY" && original.activityType !== "SELL") return null;
  if (fee === null || !fee.gt(0)) return null;
  return cashActivity({
    key: `${original.key}:fee`,
    account: original.account,
    activityType: "FEE",
    subtype: null,
    date: original.date,
    amount: fee,
    currency: original.currency,
    notes: `IBKR commission of the cancelled trade ${original.key}, not refunded by the cancel`,
    conid: original.conid,
    isin: original.isin,
    groupKey: null,
  });
}

/** IBKR marks a cancellation three ways; any one of them is enough (contracts §4.3). */
function isCancel(row: TradeRow): boolean {
  const type = row.text("transactionType");
  if (type === "TradeCancel" || type === "FracShareCancel") return true;
  if (row.text("buySell")?.includes("(Ca.)")) return true;
  return (row.text("notes") ?? "").split(";").some((code) => code.trim() === "Ca");
}

function tradeInstant(row: TradeRow) {
  const dateTime = row.dateTime("dateTime");
  if (dateTime) return dateTime;
  const date = row.date("tradeDate");
  const time = row.text("tradeTime");
  if (!date || !time || !/^\d{6}$/.test(time)) return null;
  return { date, time: `${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}`, zone: null };
}

function tradeSummary(row: TradeRow): Record<string, string | null> {
  return {
    section: "Trades",
    transactionType: row.text("transactionType"),
    assetCategory: row.text("assetCategory"),
    symbol: row.text("symbol"),
    buySell: row.text("buySell"),
    quantity: row.attributes["quantity"] ?? null,
    tradePrice: row.attributes["tradePrice"] ?? null,
    currency: row.text("currency"),
    notes: row.text("notes"),
    description: row.text("description"),
  };
}
