/**
 * An activity as Wealthfolio's `POST /activities/bulk` takes it (`NewActivity`, §4.4), built from
 * the journal's canonical payload: every decimal travels as the string the journal holds, from
 * the statement to the wire, never through a JS number.
 */
import type { ActivityPayload } from "../domain/payload.ts";

/** The asset an activity is booked against (§4.4 `symbol`). */
export interface WireSymbol {
  /** Wealthfolio's asset id when known; the other fields let the server resolve it otherwise. */
  readonly id?: string;
  /** The ticker without a Yahoo suffix (`VUAG`), as Wealthfolio keys assets with the MIC. */
  readonly symbol: string;
  readonly exchangeMic?: string;
  readonly instrumentType?: string;
  readonly quoteCcy?: string;
  readonly name?: string;
}

/** `NewActivity`, the fields we send. Absent fields are omitted, never sent as null. */
export interface NewActivity {
  /** The idempotency key again: Wealthfolio echoes it in `errors[].id` and `createdMappings`. */
  readonly id: string;
  readonly accountId: string;
  readonly activityType: string;
  readonly subtype?: string;
  readonly activityDate: string;
  readonly symbol?: WireSymbol;
  readonly quantity?: string;
  readonly unitPrice?: string;
  readonly amount?: string;
  readonly fee?: string;
  readonly currency: string;
  readonly notes?: string;
  /** A JSON-encoded string (§4.4), not an object. */
  readonly metadata?: string;
  readonly sourceSystem: string;
  readonly sourceRecordId: string;
  readonly sourceGroupId?: string;
  readonly idempotencyKey: string;
}

/**
 * Types that are only ever cash. On `/activities` and `/bulk` a symbol is never stripped: sent
 * with one of these it would create an asset and book cash as a security (§4.11).
 */
export const CASH_ONLY_TYPES: ReadonlySet<string> = new Set([
  "DEPOSIT",
  "WITHDRAWAL",
  "FEE",
  "TAX",
  "CREDIT",
  "INTEREST",
]);

/** Types Wealthfolio cannot book without an asset (§4.4 step 2). */
export const ASSET_TYPES: ReadonlySet<string> = new Set(["BUY", "SELL", "SPLIT"]);

/** Whether an activity is booked against a security (it has a symbol and is not cash-only). */
export function needsAsset(p: ActivityPayload): boolean {
  return p.symbol !== null && !CASH_ONLY_TYPES.has(p.activityType);
}

/**
 * Example: a BUY of `VUAG.L` with asset `{id, symbol: "VUAG", exchangeMic: "XLON", …}` becomes
 * `{"id":"ibkr:U1:42","activityType":"BUY","symbol":{…},"quantity":"25","unitPrice":"92.1425",
 * "currency":"GBP","idempotencyKey":"ibkr:U1:42",…}`; a DEPOSIT never has `symbol`.
 */
export function newActivity(
  p: ActivityPayload,
  target: { accountId: string; asset: WireSymbol | null; sourceSystem: string },
): NewActivity {
  if (needsAsset(p) && target.asset === null) {
    throw new Error(`${p.key}: a ${p.activityType} of ${p.symbol} needs its asset resolved first`);
  }
  if (!needsAsset(p) && ASSET_TYPES.has(p.activityType)) {
    throw new Error(`${p.key}: a ${p.activityType} without a symbol cannot be booked`);
  }
  const out: Record<string, unknown> = {
    id: p.key,
    accountId: target.accountId,
    activityType: p.activityType,
    activityDate: p.date,
    currency: p.currency,
    sourceSystem: target.sourceSystem,
    sourceRecordId: p.sourceRecordId,
    idempotencyKey: p.key,
  };
  if (p.subtype !== null) out.subtype = p.subtype;
  if (needsAsset(p)) out.symbol = target.asset;
  if (p.quantity !== null) out.quantity = p.quantity;
  if (p.unitPrice !== null) out.unitPrice = p.unitPrice;
  if (p.amount !== null) out.amount = p.amount;
  if (p.fee !== null) out.fee = p.fee;
  if (p.notes !== null) out.notes = p.notes;
  if (p.metadata !== null) out.metadata = JSON.stringify(p.metadata);
  if (p.groupKey !== null) out.sourceGroupId = p.groupKey;
  return out as unknown as NewActivity;
}
