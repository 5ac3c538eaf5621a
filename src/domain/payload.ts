/**
 * The canonical payload of an activity: JSON with every decimal as a string, keys in a fixed
 * order, so the same row always serialises to the same bytes.
 */
import { Decimal } from "decimal.js";
import {
  type Activity,
  type ActivityType,
  decimalString,
  type InstrumentType,
} from "./activity.ts";

/** An activity as stored in the journal and shown by `--json`. */
export interface ActivityPayload {
  readonly key: string;
  readonly account: string;
  readonly activityType: ActivityType;
  readonly subtype: string | null;
  readonly date: string;
  readonly symbol: string | null;
  readonly exchangeMic: string | null;
  readonly instrumentType: InstrumentType | null;
  readonly name: string | null;
  readonly isin: string | null;
  readonly conid: string | null;
  readonly quantity: string | null;
  readonly unitPrice: string | null;
  readonly amount: string | null;
  readonly fee: string | null;
  readonly currency: string;
  readonly notes: string | null;
  readonly groupKey: string | null;
  readonly sourceRecordId: string;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  readonly matchKey: string | null;
}

/** Example: `toPayload(activity).quantity` is `"10"`, never the number 10. */
export function toPayload(a: Activity): ActivityPayload {
  return {
    key: a.key,
    account: a.account,
    activityType: a.activityType,
    subtype: a.subtype,
    date: a.date,
    symbol: a.symbol,
    exchangeMic: a.exchangeMic,
    instrumentType: a.instrumentType,
    name: a.name,
    isin: a.isin,
    conid: a.conid,
    quantity: decimalString(a.quantity),
    unitPrice: decimalString(a.unitPrice),
    amount: decimalString(a.amount),
    fee: decimalString(a.fee),
    currency: a.currency,
    notes: a.notes,
    groupKey: a.groupKey,
    sourceRecordId: a.sourceRecordId,
    metadata: a.metadata,
    matchKey: a.matchKey ?? null,
  };
}

/** The inverse of toPayload. */
export function fromPayload(p: ActivityPayload): Activity {
  const dec = (v: string | null) => (v === null ? null : new Decimal(v));
  return {
    ...p,
    quantity: dec(p.quantity),
    unitPrice: dec(p.unitPrice),
    amount: dec(p.amount),
    fee: dec(p.fee),
  };
}
