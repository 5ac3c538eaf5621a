/**
 * SalesTaxes → TAX (a refund: CREDIT REFUND). IBKR charges VAT on its own fees, such as market
 * data subscriptions, as rows of their own beside the `Other Fees` cash row they tax (PP
 * `…File17.xml`: three −1.50 fees and three −0.30 VAT rows; contracts §2.9, where PP imports them
 * too). The CashReport counts them under `salesTax`.
 */
import type { Decimal } from "decimal.js";
import { activityKey, type RowOutcome } from "../domain/activity.ts";
import { activityTimestamp } from "../flex/dates.ts";
import type { FlexRow } from "../flex/row.ts";
import type { SALES_TAX } from "../flex/schema.ts";
import { cashActivity } from "./cash_activity.ts";
import type { CompositeKeys } from "./keys.ts";
import { skip } from "./skip.ts";

export type SalesTaxRow = FlexRow<typeof SALES_TAX>;

/** The key of a sales-tax row: its transactionID, else a composite of its own facts. */
export function salesTaxKey(row: SalesTaxRow, keys: CompositeKeys): string {
  const account = row.context.accountId;
  if (row.ibkrId) return activityKey(account, row.ibkrId);
  return keys.next(account, [
    "sales-tax",
    row.date("date"),
    row.text("taxableTransactionID"),
    row.text("currency"),
    row.decimal("salesTax")?.toFixed() ?? null,
  ]);
}

/** Example: VAT −0.3 USD on "NASDAQ Level 1" on 2023-03-02 → TAX 0.3 USD. */
export function mapSalesTax(row: SalesTaxRow, key: string): RowOutcome {
  const account = row.context.accountId;
  const date = row.date("date");
  // Never "today": a row without its date is an error that names it (contracts §3).
  if (!date) throw row.error("date", "is required for a sales tax and missing");
  const summary = {
    section: "SalesTaxes",
    type: row.text("taxType"),
    amount: row.attributes["salesTax"] ?? null,
    currency: row.text("currency"),
    description: row.text("taxableDescription"),
  };
  const amount: Decimal | null = row.decimal("salesTax");
  if (amount === null) return skip(key, account, date, "missing-field:salesTax", summary);
  if (amount.isZero()) return skip(key, account, date, "zero-amount", summary);
  const currency = row.text("currency");
  if (!currency) return skip(key, account, date, "missing-field:currency", summary);
  const what = [row.text("taxType") ?? "sales tax", row.text("country")].filter(Boolean).join(" ");
  return {
    kind: "activities",
    activities: [cashActivity({
      key,
      account,
      activityType: amount.lt(0) ? "TAX" : "CREDIT",
      subtype: amount.lt(0) ? null : "REFUND",
      date: activityTimestamp(date, null),
      amount,
      currency,
      notes: `IBKR ${what} on ${row.text("taxableDescription") ?? "a fee"}`,
      conid: row.text("conid"),
      isin: row.text("isin"),
      groupKey: null,
    })],
  };
}
