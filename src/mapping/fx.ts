/**
 * FX conversions: Trades with `assetCategory="CASH"` and a `BASE.QUOTE` symbol. They move cash
 * between currencies inside the account, so they become two linked cash legs — TRANSFER_OUT of
 * the currency sold, TRANSFER_IN of the currency bought — never a security (contracts §4.1).
 * Amounts are IBKR's own: `quantity` in BASE and `proceeds` in QUOTE; no rate is computed.
 */
import type { Decimal } from "decimal.js";
import type { Activity, RowOutcome } from "../domain/activity.ts";
import { activityTimestamp, type FlexDateTime } from "../flex/dates.ts";
import { cashActivity } from "./cash_activity.ts";
import { skip } from "./skip.ts";
import { tradeMatchKey, type TradeRow } from "./trades.ts";

const PAIR = /^([A-Z]{3})\.([A-Za-z]{3})$/;

/** Maps one FX conversion execution. Example: SELL 2000 of GBP.USD for 2441 USD → OUT 2000 GBP, IN 2441 USD. */
export function mapFxConversion(
  row: TradeRow,
  key: string,
  businessDate: string,
  instant: FlexDateTime | null,
  summary: () => Record<string, string | null>,
): RowOutcome {
  const account = row.context.accountId;
  const pair = PAIR.exec(row.text("symbol") ?? "");
  if (!pair) return skip(key, account, businessDate, "unrecognised-fx-symbol", summary());
  const [, base, quote] = pair;
  const rowCurrency = row.text("currency");
  // The row's currency is the QUOTE currency; anything else is a layout we do not know.
  if (rowCurrency !== null && rowCurrency !== quote) {
    return skip(key, account, businessDate, "unrecognised-fx-layout", summary());
  }
  const quantity = row.decimal("quantity");
  if (quantity === null) {
    return skip(key, account, businessDate, "missing-field:quantity", summary());
  }
  if (quantity.isZero()) return skip(key, account, businessDate, "zero-quantity", summary());
  const proceeds = row.decimal("proceeds");
  if (proceeds === null) {
    return skip(key, account, businessDate, "missing-field:proceeds", summary());
  }

  const buysBase = quantity.gt(0);
  const matchKey = tradeMatchKey(row);
  const date = activityTimestamp(businessDate, instant);
  const note = `IBKR FX ${buysBase ? "BUY" : "SELL"} ${quantity.abs().toFixed()} ${pair[0]} at ${
    row.attributes["tradePrice"] ?? "?"
  }${hasAutoFx(row) ? " (AFx)" : ""}`;
  const leg = (
    suffix: "in" | "out" | "commission" | "tax",
    activityType: Activity["activityType"],
    subtype: string | null,
    amount: Decimal,
    currency: string,
  ): Activity =>
    cashActivity({
      key: `${key}:${suffix}`,
      account,
      activityType,
      subtype,
      date,
      amount,
      currency,
      notes: note,
      conid: row.text("conid"),
      isin: null,
      // One group for the conversion's legs: Wealthfolio's sourceGroupId links them.
      groupKey: key,
      matchKey,
    });

  const activities: Activity[] = buysBase
    ? [
      leg("out", "TRANSFER_OUT", null, proceeds, quote),
      leg("in", "TRANSFER_IN", null, quantity, base),
    ]
    : [
      leg("out", "TRANSFER_OUT", null, quantity, base),
      leg("in", "TRANSFER_IN", null, proceeds, quote),
    ];
  // Zero-amount legs (AFx dust rounds to 0 on one side) still book the other side.
  const booked = activities.filter((a) => !a.amount!.isZero());

  const commission = row.decimal("ibCommission");
  if (commission !== null && !commission.isZero()) {
    const currency = row.text("ibCommissionCurrency") ?? quote;
    booked.push(
      commission.lt(0)
        ? leg("commission", "FEE", null, commission, currency)
        : leg("commission", "CREDIT", "REBATE", commission, currency),
    );
  }
  const taxes = row.decimal("taxes");
  if (taxes !== null && !taxes.isZero()) {
    booked.push(
      taxes.lt(0)
        ? leg("tax", "FEE", null, taxes, quote)
        : leg("tax", "CREDIT", "REFUND", taxes, quote),
    );
  }
  return { kind: "activities", activities: booked };
}

function hasAutoFx(row: TradeRow): boolean {
  return (row.text("notes") ?? "").split(";").some((code) => code.trim() === "AFx");
}
