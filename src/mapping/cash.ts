/**
 * CashTransactions → cash activities, per the runbook's table (contracts/ibkr-flex.md §2.4).
 * A type not in the table is skipped with its name as the reason: never guessed.
 */
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
  "Payment In Lieu Of Dividends": {
    positive: ["DIVIDEND", null],
    negative: null,
    withSymbol: true,
  },
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
  const target = amount.lt(0) ? rule.negative : rule.positive;
  if (!target) {
    const sign = amount.lt(0) ? "negative" : "positive";
    const reason = type === "Dividends" || type === "Payment In Lieu Of Dividends"
      ? "not-yet-mapped:dividend-reversal"
      : `unexpected-sign:${sign}:${type}`;
    return skip(key, account, businessDate, reason, summary());
  }

  const rawCurrency = row.text("currency");
  if (!rawCurrency) return skip(key, account, businessDate, "missing-field:currency", summary());
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
    groupKey: null,
    sourceRecordId: sourceRecordIdOf(key),
    metadata: null,
  };
  return { kind: "activities", activities: [activity] };
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
