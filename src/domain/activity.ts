/**
 * The activity model: what one IBKR row becomes on its way to Wealthfolio.
 *
 * Money and quantities are `Decimal` from the XML attribute to the JSON string; a JS number
 * never holds an amount. Types and subtypes use Wealthfolio's canonical names
 * (contracts/wealthfolio-api.md §5) so the push step sends them unchanged.
 */
import type { Decimal } from "decimal.js";

/** Wealthfolio's canonical activity types (v3; ADD_HOLDING/REMOVE_HOLDING no longer exist). */
export const ACTIVITY_TYPES = [
  "BUY",
  "SELL",
  "SPLIT",
  "DIVIDEND",
  "INTEREST",
  "DEPOSIT",
  "WITHDRAWAL",
  "TRANSFER_IN",
  "TRANSFER_OUT",
  "FEE",
  "TAX",
  "CREDIT",
  "ADJUSTMENT",
] as const;
export type ActivityType = typeof ACTIVITY_TYPES[number];

/** Where an activity stands in the journal. */
export const ACTIVITY_STATES = ["pending", "pushed", "skipped", "failed", "superseded"] as const;
export type ActivityState = typeof ACTIVITY_STATES[number];

/** Wealthfolio's instrument types, used when an asset is created. */
export type InstrumentType = "EQUITY" | "OPTION" | "BOND" | "FX" | "CRYPTO" | "METAL";

/**
 * One activity as the mapper produces it. Cash activities have `symbol === null`: Wealthfolio
 * must never receive a symbol for cash (wealthfolio-api.md §4.11).
 */
export interface Activity {
  /** Idempotency key, `ibkr:<accountId>:<transactionID>[:leg]`; also Wealthfolio's key. */
  readonly key: string;
  /** IBKR account id the row belongs to (the Wealthfolio account is chosen at push time). */
  readonly account: string;
  readonly activityType: ActivityType;
  readonly subtype: string | null;
  /** RFC3339 with offset; its UTC calendar date is IBKR's business date. */
  readonly date: string;
  /** Yahoo-form ticker (`VUAG.L`, `BRK-B`) for security activities, null for cash. */
  readonly symbol: string | null;
  readonly exchangeMic: string | null;
  readonly instrumentType: InstrumentType | null;
  readonly name: string | null;
  readonly isin: string | null;
  readonly conid: string | null;
  readonly quantity: Decimal | null;
  readonly unitPrice: Decimal | null;
  readonly amount: Decimal | null;
  readonly fee: Decimal | null;
  readonly currency: string;
  readonly notes: string | null;
  /** Links activities booked together (FX legs, corporate-action legs): Wealthfolio's sourceGroupId. */
  readonly groupKey: string | null;
  /** IBKR's own record id, sent as Wealthfolio's sourceRecordId. */
  readonly sourceRecordId: string;
  /** Extra facts Wealthfolio stores as metadata (e.g. `{flow:{is_external:true}}`). */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /**
   * What a later correction finds this activity by when it names no transactionID: a dividend
   * or tax by its actionID and amount, a trade by its tradeID. Journal-only, never sent.
   */
  readonly matchKey?: string | null;
}

/** A row that was deliberately not booked, with the reason an operator can act on. */
export interface SkippedRow {
  readonly key: string;
  readonly account: string;
  /** Business date of the row when it had one. */
  readonly date: string | null;
  /** Kebab-case reason, optionally `reason:detail` (e.g. `unknown-cash-type:Fees Rebate`). */
  readonly reason: string;
  /** What the row was, for the review listing: section, type, amount, currency, description. */
  readonly summary: Readonly<Record<string, string | null>>;
}

/**
 * A row that undoes an earlier one (a trade cancel, a dividend reversal, a withholding
 * correction). IBKR sends corrections as new rows; the journal finds the original and either
 * keeps both out of Wealthfolio, or records a correction when the original was already pushed.
 */
export interface Cancellation {
  /**
   * `reverse`: the row is only an undo; the original is removed (this row is never booked).
   * `net`: the row is booked in its own right (e.g. a tax refund) unless its original is still
   * unpushed, in which case the two cancel out and neither is pushed.
   */
  readonly mode: "reverse" | "net";
  /** The original's key when IBKR names it (origTransactionID): its legs go with it. */
  readonly targetKey: string | null;
  /** Otherwise the original's matchKey; the earliest activity not yet cancelled is taken. */
  readonly targetMatch: string | null;
  /** Why, for the journal: `trade-cancel`, `dividend-reversal`, `withholding-correction`. */
  readonly reason: string;
}

/**
 * Whether the original's costs outlive its cancellation. A trade cancel undoes quantity and
 * proceeds but carries `ibCommission="0"`: the commission stays charged, and a refund, if IBKR
 * makes one, arrives as a row of its own such as `Commission Adjustments` (contracts/ibkr-flex.md
 * §4.3, PP `…File09.xml`). So the cancelled trade's fee and its commission legs stay booked.
 *
 * @example costsSurvive("trade-cancel") // → true; costsSurvive("dividend-reversal") // → false
 */
export function costsSurvive(reason: string): boolean {
  return reason === "trade-cancel";
}

/** The outcome the mapper gives every importable row: booked, or skipped with a reason. */
export type RowOutcome =
  | {
    readonly kind: "activities";
    readonly activities: readonly Activity[];
    readonly cancels?: Cancellation;
  }
  | { readonly kind: "skipped"; readonly skipped: SkippedRow; readonly cancels?: Cancellation };

/** Builds an idempotency key from IBKR's own ids. Example: `activityKey("U1", "42", "fee")` → `ibkr:U1:42:fee`. */
export function activityKey(account: string, recordId: string, leg?: string): string {
  return leg ? `ibkr:${account}:${recordId}:${leg}` : `ibkr:${account}:${recordId}`;
}

/** The sourceRecordId Wealthfolio stores: the key without its `ibkr:` scheme, e.g. `U1:42:fee`. */
export function sourceRecordIdOf(key: string): string {
  return key.startsWith("ibkr:") ? key.slice(5) : key;
}

/** A Decimal as the wire wants it: plain notation, no exponent (`"455.50"` is written `"455.5"`). */
export function decimalString(value: Decimal | null): string | null {
  return value === null ? null : value.toFixed();
}

/**
 * The mapping rules' version. Bump it whenever a rule changes what a row becomes; statements
 * mapped by an older version are mapped again by `import`.
 */
export const MAPPING_VERSION = 6;
