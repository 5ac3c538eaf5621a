/**
 * CashTransactions → cash activities, per the runbook's table (contracts/ibkr-flex.md §2.4).
 * A type not in the table is skipped with its name as the reason: never guessed.
 */
import type { Decimal } from "decimal.js";
import {
  type Activity,
  activityKey,
  type ActivityType,
  type RowOutcome,
  sourceRecordIdOf,
} from "../domain/activity.ts";
import { activityTimestamp } from "../flex/dates.ts";
import type { FlexRow } from "../flex/row.ts";
import type { CASH_TRANSACTION } from "../flex/schema.ts";
import { majorCurrency } from "./currency.ts";
import type { CompositeKeys } from "./keys.ts";
import { skip } from "./skip.ts";
import { securitySymbol } from "./symbols.ts";

export type CashRow = FlexRow<typeof CASH_TRANSACTION>;

/** What a cash type becomes for a positive and for a negative amount; null means "skip". */
interface CashRule {
  readonly positive: readonly [ActivityType, string | null] | null;
  readonly negative: readonly [ActivityType, string | null] | null;
  /** Dividends carry their security; every other cash activity must not. */
  readonly withSymbol?: boolean;
}

const REFUND = ["CREDIT", "REFUND"] as const;
const FEE = ["FEE", null] as const;

const CASH_RULES: Readonly<Record<string, CashRule>> = {
  // Negative dividends are reversals: the corrections rules handle them, never a sign flip.
  "Dividends": { positive: ["DIVIDEND", null], negative: null, withSymbol: true },
  // A negative PIL that is not a reversal is IBKR charging a short position the dividend.
  "Payment In Lieu Of Dividends": { positive: ["DIVIDEND", null], negative: FEE, withSymbol: true },
  "Withholding Tax": { positive: REFUND, negative: ["TAX", null] },
  "Broker Interest Received": { positive: ["INTEREST", null], negative: null },
  "Bond Interest Received": { positive: ["INTEREST", null], negative: null },
  "Broker Interest Paid": { positive: REFUND, negative: FEE },
  "Bond Interest Paid": { positive: REFUND, negative: FEE },
  "Other Fees": { positive: REFUND, negative: FEE },
  "Advisor Fees": { positive: REFUND, negative: FEE },
  "Fees": { positive: REFUND, negative: FEE },
  "Commission Adjustments": { positive: REFUND, negative: FEE },
  "Deposits/Withdrawals": { positive: ["DEPOSIT", null], negative: ["WITHDRAWAL", null] },
  "Deposits & Withdrawals": { positive: ["DEPOSIT", null], negative: ["WITHDRAWAL", null] },
};

/** Whether a cash row is the `accountId="-"` SUMMARY duplicate of DETAIL rows (contracts §2.4). */
export function isSummaryDuplicate(row: CashRow): boolean {
  return row.text("levelOfDetail") === "SUMMARY" && row.attributes["accountId"]?.trim() === "-";
}

/** Whether a cash row is a SUMMARY row of a real account (a SUMMARY-only export). */
export function isAccountSummary(row: CashRow): boolean {
  return row.text("levelOfDetail") === "SUMMARY" && !isSummaryDuplicate(row);
}

/**
 * The key of a cash row: its transactionID, else a composite of its own facts. A cash row that
 * belongs to a trade (it carries a tradeID, like a bond's purchased accrued interest) can share
 * the trade's transactionID, so it takes the `cash` leg to stay distinct (jal ibkr.xml).
 */
export function cashKey(row: CashRow, keys: CompositeKeys): string {
  const account = row.context.accountId;
  if (row.ibkrId) return activityKey(account, row.ibkrId, row.text("tradeID") ? "cash" : undefined);
  return keys.next(account, [
    "cash",
    cashBusinessDate(row),
    row.text("type"),
    row.text("actionID") ?? row.text("conid"),
    row.text("currency"),
    row.decimal("amount")?.toFixed() ?? null,
  ]);
}

/** Maps one cash transaction. */
export function mapCash(row: CashRow, key: string): RowOutcome {
  const account = row.context.accountId;
  const type = row.text("type");
  const dateTime = row.dateTime("dateTime");
  const businessDate = cashBusinessDate(row);
  const summary = () => cashSummary(row);

  const rule = type === null ? undefined : CASH_RULES[type];
  if (!rule) {
    return skip(key, account, businessDate, `unknown-cash-type:${type ?? "none"}`, summary());
  }
  const amount = row.decimal("amount");
  if (amount === null) return skip(key, account, businessDate, "missing-field:amount", summary());
  if (amount.isZero()) return skip(key, account, businessDate, "zero-amount", summary());
  const rawCurrency = row.text("currency");
  if (!rawCurrency) return skip(key, account, businessDate, "missing-field:currency", summary());
  const isIncome = type === "Dividends" || type === "Payment In Lieu Of Dividends";
  const income = (activityType: "DIVIDEND" | "TAX", magnitude: Decimal) =>
    incomeMatchKey(row, businessDate, activityType, rawCurrency, magnitude);

  // A reversal is never a sign-flipped income: it undoes the dividend it names (contracts §4.2).
  if (amount.lt(0) && isIncome && (type === "Dividends" || isReversal(row))) {
    return {
      kind: "skipped",
      skipped: {
        key,
        account,
        date: businessDate,
        reason: "cancellation:dividend-reversal",
        summary: summary(),
      },
      cancels: {
        mode: "reverse",
        targetKey: null,
        targetMatch: income("DIVIDEND", amount.abs()),
        reason: "dividend-reversal",
      },
    };
  }
  const target = amount.lt(0) ? rule.negative : rule.positive;
  if (!target) {
    const sign = amount.lt(0) ? "negative" : "positive";
    return skip(key, account, businessDate, `unexpected-sign:${sign}:${type}`, summary());
  }

  const money = majorCurrency(rawCurrency);
  let symbol: { symbol: string; exchangeMic: string | null } | null = null;
  if (rule.withSymbol) {
    const outcome = securitySymbol({
      symbol: row.text("symbol"),
      listingExchange: row.text("listingExchange"),
      exchange: null,
      currency: rawCurrency,
      assetCategory: row.text("assetCategory"),
    });
    if (!outcome.ok) return skip(key, account, businessDate, outcome.reason, summary());
    symbol = outcome.value;
  }
  const activity: Activity = {
    key,
    account,
    activityType: target[0],
    subtype: target[1],
    date: activityTimestamp(businessDate, dateTime),
    symbol: symbol?.symbol ?? null,
    exchangeMic: symbol?.exchangeMic ?? null,
    instrumentType: symbol ? "EQUITY" : null,
    name: null,
    isin: row.text("isin"),
    conid: row.text("conid"),
    quantity: null,
    unitPrice: null,
    amount: money.convert(amount.abs()),
    fee: null,
    currency: money.currency,
    notes: row.text("description"),
    groupKey: isIncome || type === "Withholding Tax" ? dividendGroupKey(row, businessDate) : null,
    sourceRecordId: sourceRecordIdOf(key),
    metadata: null,
    matchKey: target[0] === "DIVIDEND" || target[0] === "TAX"
      ? income(target[0], amount.abs())
      : null,
  };
  // A positive withholding undoes the tax it matches when both are still unpushed; otherwise it
  // is a refund in its own right (or the compensation of a tax already in Wealthfolio).
  if (type === "Withholding Tax" && amount.gt(0)) {
    return {
      kind: "activities",
      activities: [activity],
      cancels: {
        mode: "net",
        targetKey: null,
        targetMatch: income("TAX", amount),
        reason: "withholding-correction",
      },
    };
  }
  return { kind: "activities", activities: [activity] };
}

/** IBKR's reversal wording: ` - REVERSAL` at the end or `CANCEL ` at the start (jal samples). */
function isReversal(row: CashRow): boolean {
  const description = row.text("description") ?? "";
  return /\bREVERSAL\b/i.test(description) || /^CANCEL /i.test(description) ||
    (row.text("code") ?? "").split(";").includes("Ca");
}

/**
 * What a reversal or a tax correction finds a dividend or tax by: its actionID (which IBKR keeps
 * on the dividend, its tax and their reversals), else the security and the day (contracts §4.2's
 * fallback), always with the currency and the amount.
 */
export function incomeMatchKey(
  row: CashRow,
  businessDate: string,
  type: "DIVIDEND" | "TAX",
  currency: string,
  magnitude: Decimal,
): string {
  const action = row.text("actionID");
  // No description stem here: IBKR's corrections reword it (a "USD 0.0161 PER SHARE - REVERSAL"
  // of 12.15 undoes the "USD 0.30371 PER SHARE" dividend of 12.15 in jal's samples), and the
  // amount already tells candidates apart where it matters.
  const instrument = row.text("conid") ?? row.text("symbol") ?? "-";
  const where = action ? `action:${action}` : `sec:${instrument}:${businessDate}`;
  return `${where}:${type}:${currency}:${magnitude.toFixed()}`;
}

/** Pairs a dividend with its withholding (Wealthfolio's sourceGroupId): by actionID, else the fallback. */
export function dividendGroupKey(row: CashRow, businessDate: string): string {
  const action = row.text("actionID");
  return `ibkr:${row.context.accountId}:dividend:${action ?? dividendAnchor(row, businessDate)}`;
}

function dividendAnchor(row: CashRow, businessDate: string): string {
  const instrument = row.text("conid") ?? row.text("symbol") ?? "-";
  return `${instrument}:${businessDate}:${dividendStem(row.text("description") ?? "")}`;
}

/**
 * The part of a dividend or tax description they share: `AAPL(US0378331005) CASH DIVIDEND USD
 * 0.25 PER SHARE` for both `… (Ordinary Dividend)` and `… - US TAX`, and for their reversals.
 */
export function dividendStem(description: string): string {
  let stem = description.replace(/^CANCEL\s+/i, "").replaceAll(/\s+/g, " ").trim();
  // Suffixes come in either order (`… - REVERSAL (Ordinary Dividend)`): strip until none is left.
  for (let before = ""; before !== stem;) {
    before = stem;
    stem = stem
      .replace(/\s*\([^()]*\)$/, "")
      .replace(/\s+-\s+REVERSAL$/i, "")
      .replace(/\s+-\s+[A-Z]{2}\s+TAX$/, "")
      .trim();
  }
  return stem;
}

/**
 * The business date of a cash row: the date of `dateTime` (the posting, in ET), else the
 * settlement date, else the date IBKR booked it. Queries that omit `dateTime` still carry one of
 * the others (PP's importer uses `reportDate`); a row with none is an error, never "today".
 */
export function cashBusinessDate(row: CashRow): string {
  const date = row.dateTime("dateTime")?.date ?? row.date("settleDate") ?? row.date("reportDate");
  if (!date) throw row.error("dateTime", "is missing, and so are settleDate and reportDate");
  return date;
}

function cashSummary(row: CashRow): Record<string, string | null> {
  return {
    section: "CashTransactions",
    type: row.text("type"),
    amount: row.attributes["amount"] ?? null,
    currency: row.text("currency"),
    symbol: row.text("symbol"),
    description: row.text("description"),
  };
}
