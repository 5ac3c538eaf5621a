/** The one shape of a cash activity: no symbol, MIC, quantity or price (wealthfolio-api §4.11). */
import type { Decimal } from "decimal.js";
import { type Activity, sourceRecordIdOf } from "../domain/activity.ts";
import { majorCurrency } from "./currency.ts";

/** What varies between cash activities; the rest is fixed by being cash. */
export interface CashActivityFields {
  readonly key: string;
  readonly account: string;
  readonly activityType: Activity["activityType"];
  readonly subtype: string | null;
  readonly date: string;
  /** A magnitude in `currency`; minor units (GBX) are converted to major. */
  readonly amount: Decimal;
  readonly currency: string;
  readonly notes: string | null;
  readonly conid: string | null;
  readonly isin: string | null;
  readonly groupKey: string | null;
  readonly matchKey?: string | null;
}

/** Example: a GBP FEE of 1.6 keyed `ibkr:U1:42:commission`, sourceRecordId `U1:42:commission`. */
export function cashActivity(f: CashActivityFields): Activity {
  const money = majorCurrency(f.currency);
  return {
    key: f.key,
    account: f.account,
    activityType: f.activityType,
    subtype: f.subtype,
    date: f.date,
    symbol: null,
    exchangeMic: null,
    instrumentType: null,
    name: null,
    isin: f.isin,
    conid: f.conid,
    quantity: null,
    unitPrice: null,
    amount: money.convert(f.amount.abs()),
    fee: null,
    currency: money.currency,
    notes: f.notes,
    groupKey: f.groupKey,
    sourceRecordId: sourceRecordIdOf(f.key),
    metadata: null,
    ...(f.matchKey !== undefined ? { matchKey: f.matchKey } : {}),
  };
}
