/**
 * The cash an activity moves in Wealthfolio, computed the way Wealthfolio computes it from the
 * fields we send (contracts/wealthfolio-api.md §5), split by the CashReport column IBKR counts
 * the same money under, so a difference names its cause.
 */
import { Decimal } from "decimal.js";
import type { Activity } from "../domain/activity.ts";

/**
 * IBKR CashReport categories we book into, each the sum of the listed CashReportCurrency
 * columns. Where IBKR has two spellings, the second list is used when the first is absent.
 */
export const CASH_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  depositWithdrawals: ["depositWithdrawals"],
  trades: ["netTradesSales", "netTradesPurchases"],
  commissions: ["commissions"],
  dividends: ["dividends"],
  paymentInLieu: ["paymentInLieu"],
  withholdingTax: ["withholdingTax"],
  brokerInterest: ["brokerInterest"],
  bondInterest: ["bondInterest"],
  otherFees: ["otherFees"],
  advisorFees: ["advisorFees"],
  transactionTax: ["transactionTax"],
  salesTax: ["salesTax"],
  internalTransfers: ["internalTransfers"],
  accountTransfers: ["accountTransfers"],
};

export type CashCategory = keyof typeof CASH_CATEGORIES;

/** One part of an activity's cash movement. */
export interface CashEffect {
  readonly currency: string;
  readonly category: string;
  readonly amount: Decimal;
}

const ZERO = new Decimal(0);

/**
 * The cash effects of one activity. `category` is where IBKR counts the activity's main amount;
 * a trade's fee always counts under commissions. Example: a BUY of 10 at 228.26 with fee 1 →
 * `[{trades, -2282.6}, {commissions, -1}]` in the trade currency.
 */
export function cashEffects(a: Activity, category: string): CashEffect[] {
  const amount = a.amount ?? ZERO;
  const fee = a.fee ?? ZERO;
  const at = (category: string, value: Decimal): CashEffect => ({
    currency: a.currency,
    category,
    amount: value,
  });
  switch (a.activityType) {
    case "BUY":
      return [at("trades", tradeValue(a).negated()), at("commissions", fee.negated())];
    case "SELL":
      return [at("trades", tradeValue(a)), at("commissions", fee.negated())];
    case "DIVIDEND":
    case "INTEREST":
    case "DEPOSIT":
    case "CREDIT":
      return [at(category, amount), ...(fee.isZero() ? [] : [at("commissions", fee.negated())])];
    case "WITHDRAWAL":
    case "TAX":
      return [
        at(category, amount.negated()),
        ...(fee.isZero() ? [] : [at("commissions", fee.negated())]),
      ];
    case "FEE":
      return [at(category, (amount.isZero() ? fee : amount).negated())];
    case "TRANSFER_IN":
      // A security transfer moves quantity, not cash; a cash transfer moves its amount.
      return a.symbol ? [] : [at(category, amount)];
    case "TRANSFER_OUT":
      return a.symbol ? [] : [at(category, amount.negated())];
    default:
      return [];
  }
}

/** Wealthfolio books a trade at quantity × unit price (the amount is only informative). */
function tradeValue(a: Activity): Decimal {
  return (a.quantity ?? ZERO).times(a.unitPrice ?? ZERO);
}

/** Where IBKR counts an activity when the row it came from is not known (a journal lookup). */
export function defaultCategory(a: Activity): string {
  switch (a.activityType) {
    case "DIVIDEND":
      return "dividends";
    case "TAX":
      return "withholdingTax";
    case "INTEREST":
      return "brokerInterest";
    case "DEPOSIT":
    case "WITHDRAWAL":
      return "depositWithdrawals";
    case "TRANSFER_IN":
    case "TRANSFER_OUT":
      return "trades";
    case "FEE":
      return a.key.endsWith(":commission") ? "commissions" : "otherFees";
    case "CREDIT":
      return a.subtype === "REBATE" ? "commissions" : "otherFees";
    default:
      return "trades";
  }
}
