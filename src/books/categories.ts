/** Which CashReport column IBKR counts a mapped row's money under. */
import type { Activity } from "../domain/activity.ts";
import type { AnyFlexRow } from "../flex/reader.ts";
import { defaultCategory } from "./cash_effect.ts";

const CASH_TYPE_CATEGORIES: Readonly<Record<string, string>> = {
  "Dividends": "dividends",
  "Payment In Lieu Of Dividends": "paymentInLieu",
  "Withholding Tax": "withholdingTax",
  "Broker Interest Received": "brokerInterest",
  "Broker Interest Paid": "brokerInterest",
  "Bond Interest Received": "bondInterest",
  "Bond Interest Paid": "bondInterest",
  "Other Fees": "otherFees",
  "Advisor Fees": "advisorFees",
  "Fees": "advisorFees",
  "Commission Adjustments": "commissions",
  "Deposits/Withdrawals": "depositWithdrawals",
  "Deposits & Withdrawals": "depositWithdrawals",
};

/** Example: the FEE of an `Other Fees` row counts under `otherFees`; an FX leg under `trades`. */
export function rowCategory(row: AnyFlexRow, activity: Activity): string {
  if (row.tag === "CashTransaction") {
    return CASH_TYPE_CATEGORIES[row.text("type") ?? ""] ?? defaultCategory(activity);
  }
  if (row.tag === "SalesTax") return "salesTax";
  if (row.tag === "Trade") {
    if (/:(commission|rebate|tax)$/.test(activity.key)) return "commissions";
    return "trades";
  }
  // Cash between the user's own IBKR accounts, and cash from or to another broker.
  if (row.tag === "Transfer") {
    return row.text("type") === "INTERNAL" ? "internalTransfers" : "accountTransfers";
  }
  // The CashReport has no corporate-action column; IBKR books the cash of an action like a sale
  // (it realises P/L on it), so it is counted with the trades. Not confirmed by a sample: none
  // with corporate-action cash has a real CashReport.
  if (row.tag === "CorporateAction") return "trades";
  return defaultCategory(activity);
}
