/**
 * What a position cost, for the rows that move a position without a price: corporate actions and
 * security transfers. IBKR's rows do not carry the cost (contracts/ibkr-flex.md §4.6–4.7), so it
 * is derived from the activities already booked for the instrument (keyed by conid).
 *
 * The mapper stays pure: it asks a `CostBasisSource`; the backfill use case gives it one backed by
 * the journal, verify-books and the unit tests give it their own.
 *
 * Lots are taken **FIFO**, because that is how Wealthfolio disposes of lots (contracts/
 * wealthfolio-api.md §5, SELL "FIFO lots") and how IBKR reports realised P/L (`fifoPnlRealized`):
 * the cost carried into a new security is then exactly the cost Wealthfolio removes with the old
 * one, and a partial move leaves the same lots behind in both. (When the whole position moves, as
 * in nearly every corporate action, FIFO and average cost give the same total.)
 */
import { Decimal } from "decimal.js";
import type { Activity } from "../domain/activity.ts";

/** A position as the booked activities describe it. */
export interface HeldPosition {
  /** Quantity held (negative when more left than the journal saw arrive). */
  readonly quantity: Decimal;
  /** Whether the journal's history explains every unit that left (it starts early enough). */
  readonly complete: boolean;
  /** The booked security: the latest activity that named it (symbol as sent to Wealthfolio). */
  readonly symbol: string;
  readonly exchangeMic: string | null;
  readonly name: string | null;
  /** The currency the position was booked (and its cost is) in. */
  readonly currency: string;
  /**
   * FIFO cost of the oldest `quantity` units, in `currency`; null when it is not known: more is
   * asked than the journal holds, or a lot it takes came in without a cost (a transfer).
   */
  costOf(quantity: Decimal): Decimal | null;
}

/** Which position to look up. */
export interface PositionQuery {
  readonly account: string;
  readonly conid: string;
  /** Activities on business dates up to this one (`YYYY-MM-DD`) count… */
  readonly through: string;
  /** …including the day itself (a corporate action is stamped after the close), or not. */
  readonly inclusive: boolean;
  /** When given, only activities stamped before this instant (RFC3339) of that day count. */
  readonly before?: string;
  /** Activities of this group are left out: the action being mapped, if mapped before. */
  readonly excludeGroup?: string | null;
}

/** An account's instrument, for `prefetch`. */
export interface InstrumentRef {
  readonly account: string;
  readonly conid: string;
}

/** A read-only view of the positions booked so far. */
export interface CostBasisSource {
  /** The position, or null when nothing has been booked for the instrument. */
  position(query: PositionQuery): HeldPosition | null;
  /**
   * A hint before a batch of lookups: these instruments will be asked about, so a source that
   * reads storage can read them all at once.
   */
  prefetch?(instruments: readonly InstrumentRef[]): void;
}

/** For callers that have no booked history (a bare file, a unit test): nothing is known. */
export const NO_COST_BASIS: CostBasisSource = { position: () => null };

interface Lot {
  quantity: Decimal;
  /** Total cost of the lot; null when it came in without one. */
  cost: Decimal | null;
}

const ZERO = new Decimal(0);

/**
 * Replays an instrument's activities, oldest first, into FIFO lots. Example: BUY 10 at 5 fee 1,
 * BUY 10 at 7, SELL 5 → lots 5 (cost 25.5) and 10 (cost 70); `costOf(10)` → 25.5 + 35 = 60.5.
 * Returns null when no activity names a security.
 */
export function heldPosition(activities: readonly Activity[]): HeldPosition | null {
  let lots: Lot[] = [];
  let incomplete = false;
  let deficit = ZERO;
  let latest: Activity | null = null;
  let currency: string | null = null;
  const take = (quantity: Decimal): void => {
    let left = quantity;
    while (left.gt(0) && lots.length > 0) {
      const lot = lots[0];
      if (lot.quantity.lte(left)) {
        left = left.minus(lot.quantity);
        lots.shift();
      } else {
        lot.cost = lot.cost === null ? null : lot.cost.times(lot.quantity.minus(left))
          .dividedBy(lot.quantity);
        lot.quantity = lot.quantity.minus(left);
        left = ZERO;
      }
    }
    // More left than the journal knows of: its history does not start at the account's first
    // activity (or the position went short). Nothing it says about cost can be trusted.
    if (left.gt(0)) {
      incomplete = true;
      deficit = deficit.plus(left);
    }
  };
  for (const a of activities) {
    if (a.symbol === null) continue;
    latest = a;
    if (currency === null) currency = a.currency;
    else if (currency !== a.currency) incomplete = true;
    const q = a.quantity ?? ZERO;
    switch (a.activityType) {
      case "BUY":
        lots.push({
          quantity: q,
          cost: a.unitPrice === null ? null : q.times(a.unitPrice).plus(a.fee ?? ZERO),
        });
        break;
      case "TRANSFER_IN":
        lots.push({ quantity: q, cost: a.unitPrice === null ? null : q.times(a.unitPrice) });
        break;
      case "SELL":
      case "TRANSFER_OUT":
        take(q);
        break;
      case "SPLIT": {
        const ratio = a.amount;
        if (ratio === null || ratio.lte(0)) incomplete = true;
        else lots = lots.map((l) => ({ quantity: l.quantity.times(ratio), cost: l.cost }));
        break;
      }
      default:
        break;
    }
  }
  if (latest === null || latest.symbol === null || currency === null) return null;
  const held = lots.reduce((sum, l) => sum.plus(l.quantity), ZERO).minus(deficit);
  const snapshot = lots.map((l) => ({ ...l }));
  const broken = incomplete;
  return {
    quantity: held,
    complete: !broken,
    symbol: latest.symbol,
    exchangeMic: latest.exchangeMic,
    name: latest.name,
    currency,
    costOf(quantity: Decimal): Decimal | null {
      if (broken || quantity.gt(held)) return null;
      let left = quantity;
      let cost = ZERO;
      for (const lot of snapshot) {
        if (left.lte(0)) break;
        const part = Decimal.min(left, lot.quantity);
        if (lot.cost === null) return null;
        cost = cost.plus(
          part.eq(lot.quantity) ? lot.cost : lot.cost.times(part).dividedBy(lot.quantity),
        );
        left = left.minus(part);
      }
      return cost;
    },
  };
}
