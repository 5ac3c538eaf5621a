/**
 * CorporateActions → activities (contracts/ibkr-flex.md §2.6 and §4.7; Wealthfolio semantics in
 * wealthfolio-api.md §5). The legs of one action (old security out, new security in) are mapped
 * together, because the cost of what goes out is what comes in:
 *
 * - FS / RS on one security (same conid and ISIN) → SPLIT, `amount` = the ratio from IBKR's
 *   `SPLIT N FOR M` (N/M), when that ratio is an exact decimal and reproduces IBKR's quantities.
 *   Otherwise IBKR's quantities win: a lone forward-split row adds its shares at zero cost (the
 *   position's cost is unchanged), and two legs are booked as an exchange.
 * - IC, TC, and splits that change the ISIN → an exchange: TRANSFER_OUT of each old leg,
 *   TRANSFER_IN of each new leg carrying the old legs' cost (`unitPrice` = cost / quantity), and a
 *   cash TRANSFER_IN (`:proceeds`) for cash consideration. The cost comes from the row's own
 *   `costBasis` when IBKR sends it, else from the `CostBasisSource` (FIFO over the journal).
 *   Several new securities share it in proportion to IBKR's `value` of each.
 * - SO, SD, HI (shares received with nothing given up) → TRANSFER_IN at zero cost: the parent
 *   keeps its cost, so the total is unchanged (a cost allocation would need the issuer's figures).
 * - DW → TRANSFER_OUT of the written-off shares, with no proceeds.
 * - BM / TM (a bond or bill redeemed: matured or called) and TO paying cash for what is tendered
 *   → a SELL of IBKR's quantity (face value, shares) at `proceeds` ÷ quantity, fee 0: Wealthfolio
 *   books quantity × price as the cash and works out the gain itself. Every leg must give
 *   something up and get positive proceeds, else the action waits for review with why.
 * - TO exchanging the tendered security for another (often a temporary `CORPACT` line that a later
 *   TC pays out) → an exchange, as TC.
 * - A cancelled action (`code="Ca"`) or a `- REVERSAL` row undoes the booking it mirrors (same
 *   conid, day, type, opposite quantity), like any other cancellation.
 * - Anything else → skipped as `needs-review:corporate-action:<type>`.
 *
 * Legs on options and bonds are booked as the trades book them (moved_security.ts), in contracts
 * and face value. A split of an option or a bond is never a Wealthfolio SPLIT: the adjusted
 * contract is another instrument (its OCC symbol carries the strike), so its legs are an exchange.
 */
import { Decimal } from "decimal.js";
import { type Activity, type RowOutcome, sourceRecordIdOf } from "../domain/activity.ts";
import { activityTimestamp } from "../flex/dates.ts";
import type { FlexRow } from "../flex/row.ts";
import type { CORPORATE_ACTION } from "../flex/schema.ts";
import { cashActivity } from "./cash_activity.ts";
import type { CostBasisSource, HeldPosition } from "./cost_basis.ts";
import { majorCurrency } from "./currency.ts";
import { instrumentTypeOf } from "./instruments.ts";
import { type MovedSecurity, movedSecurity } from "./moved_security.ts";
import { skip } from "./skip.ts";

export type CorporateActionRow = FlexRow<typeof CORPORATE_ACTION>;

/** A corporate-action row with the key it was given when it was read. */
export interface HeldAction {
  readonly row: CorporateActionRow;
  readonly key: string;
}

/** The legs of one action, as IBKR links them (contracts §4.7). */
export interface ActionGroup {
  readonly type: string;
  /** Business date: the date of `dateTime` (ET), else `reportDate`. */
  readonly date: string;
  /** Links the legs in Wealthfolio (sourceGroupId); also what a re-map leaves out of the cost. */
  readonly groupKey: string;
  readonly legs: readonly HeldAction[];
}

export interface ActionOutcome {
  readonly row: CorporateActionRow;
  readonly outcome: RowOutcome;
}

const ZERO = new Decimal(0);

/** A cost and its currency; `currency: null` for a zero cost, which fits any currency. */
interface Cost {
  readonly amount: Decimal;
  readonly currency: string | null;
}

const NO_COST: Cost = { amount: ZERO, currency: null };

/** The business date of a corporate-action row; a row with neither date is an error, never "today". */
export function actionDate(row: CorporateActionRow): string {
  const date = row.dateTime("dateTime")?.date ?? row.date("reportDate");
  if (!date) throw row.error("dateTime", "is missing, and so is reportDate");
  return date;
}

/** IBKR's cancel (`code="Ca"`) or reversal wording: the row undoes another one. */
export function isActionCancel(row: CorporateActionRow): boolean {
  if ((row.text("code") ?? "").split(";").some((c) => c.trim() === "Ca")) return true;
  const description = row.text("description") ?? "";
  return /\s-\s*REVERSAL\b/i.test(description) || /^CANCEL\s/i.test(description);
}

/**
 * The legs that belong together: same type, same actionID (else the same day) and the same action
 * text. The text matters even with an actionID: a cancelled leg and its re-booking can share the
 * action but not the wording (jal `ibkr.xml`, BPYU → BAM).
 */
export function groupActions(held: readonly HeldAction[]): ActionGroup[] {
  const groups = new Map<string, HeldAction[]>();
  for (const h of held) {
    const row = h.row;
    const identity = [
      row.text("type") ?? "none",
      row.text("actionID") ?? actionDate(row),
      actionStem(row.text("description") ?? h.key),
    ].join("|");
    const legs = groups.get(identity);
    if (legs) legs.push(h);
    else groups.set(identity, [h]);
  }
  return [...groups.values()].map((legs) => {
    const first = legs[0].row;
    const actionId = first.text("actionID");
    const account = first.context.accountId;
    return {
      type: first.text("type") ?? "none",
      date: actionDate(first),
      groupKey: actionId
        ? `ibkr:${account}:corporate-action:${actionId}`
        : legs.map((l) => l.key).sort()[0],
      legs,
    };
  });
}

/** The action text without the leg's own `(SYMBOL, NAME, ID)` tail. */
function actionStem(description: string): string {
  return description.replace(/\s*\([^()]*\)\s*$/, "").replaceAll(/\s+/g, " ").trim();
}

/** What a cancel or reversal finds a booked leg by. */
function legMatchKey(row: CorporateActionRow, quantity: Decimal): string | null {
  const conid = row.text("conid");
  if (!conid) return null;
  return `corporate-action:${conid}:${actionDate(row)}:${
    row.text("type") ?? "none"
  }:${quantity.toFixed()}`;
}

/** A cancel or reversal: never booked, it removes the leg it mirrors. */
export function mapActionCancel(held: HeldAction): RowOutcome {
  const { row, key } = held;
  const quantity = row.decimal("quantity");
  const target = quantity === null || quantity.isZero()
    ? null
    : legMatchKey(row, quantity.negated());
  if (!target) {
    return skip(
      key,
      row.context.accountId,
      actionDate(row),
      "cancel-without-original",
      summary(row),
    );
  }
  return {
    kind: "skipped",
    skipped: {
      key,
      account: row.context.accountId,
      date: actionDate(row),
      reason: "cancellation:corporate-action",
      summary: summary(row),
    },
    cancels: {
      mode: "reverse",
      targetKey: null,
      targetMatch: target,
      reason: "corporate-action-cancel",
    },
  };
}

/** Maps one action's legs; every leg gets exactly one outcome. */
export function mapActionGroup(group: ActionGroup, costBasis: CostBasisSource): ActionOutcome[] {
  const review = `needs-review:corporate-action:${group.type}`;
  const blocked = group.legs.map((leg) => legProblem(leg.row));
  if (blocked.some((p) => p !== null)) {
    return skipGroup(group, (_leg, i) => blocked[i] ?? review);
  }
  const mapper = new GroupMapper(group, costBasis);
  const quantities = group.legs.map((leg) => leg.row.decimal("quantity")!);
  switch (group.type) {
    case "FS":
    case "RS":
      if (group.legs.every((leg) => isEquity(leg.row))) return mapper.split();
      // An adjusted option or bond is a new instrument: IBKR's legs out and in, or review.
      if (quantities.some((q) => q.lt(0)) && quantities.some((q) => q.gt(0))) {
        return mapper.exchange(null);
      }
      return skipGroup(group, () => review);
    case "IC":
    case "TC":
      return mapper.exchange(null);
    case "SO":
    case "SD":
    case "HI":
      // Shares received with nothing given up; a negative leg here is not a receipt.
      if (quantities.some((q) => q.lt(0))) return skipGroup(group, () => review);
      return mapper.exchange(NO_COST);
    case "DW":
      if (quantities.some((q) => q.gt(0))) return skipGroup(group, () => review);
      return mapper.exchange(null);
    case "BM":
    case "TM": {
      const problem = saleProblem(group);
      return problem ? skipGroup(group, () => `${review}:${problem}`) : mapper.sale();
    }
    case "TO": {
      if (quantities.some((q) => q.lt(0)) && quantities.some((q) => q.gt(0))) {
        return mapper.exchange(null, { tenderLine: true });
      }
      const problem = saleProblem(group);
      return problem ? skipGroup(group, () => `${review}:${problem}`) : mapper.sale();
    }
    default:
      return skipGroup(group, () => review);
  }
}

/** Why a leg cannot be booked at all, or null. */
function legProblem(row: CorporateActionRow): string | null {
  const type = instrumentTypeOf(row.text("assetCategory"));
  if (!type.ok) return type.reason;
  if (row.decimal("quantity") === null) return "missing-field:quantity";
  if (!row.text("currency")) return "missing-field:currency";
  return null;
}

/**
 * Why an action's legs are not a sale for cash, or null: each leg must give something up
 * (quantity < 0) and receive positive `proceeds`. A leg without them is not guessed at (a tender
 * whose cash comes in a later row, a redemption whose amount is missing).
 */
function saleProblem(group: ActionGroup): string | null {
  for (const { row } of group.legs) {
    if (!row.decimal("quantity")!.lt(0)) return "not-a-disposal";
    const proceeds = row.decimal("proceeds");
    if (proceeds === null) return "missing-proceeds";
    if (!proceeds.gt(0)) return "no-proceeds";
  }
  return null;
}

/** Shares and funds: what a Wealthfolio SPLIT applies to. */
function isEquity(row: CorporateActionRow): boolean {
  const type = instrumentTypeOf(row.text("assetCategory"));
  return type.ok && type.value === "EQUITY";
}

function skipGroup(
  group: ActionGroup,
  reason: (leg: HeldAction, index: number) => string,
): ActionOutcome[] {
  return group.legs.map((leg, i) => skipLeg(leg, group.date, reason(leg, i)));
}

/** One leg of an action, not booked, with why. */
function skipLeg(leg: HeldAction, date: string, reason: string): ActionOutcome {
  return {
    row: leg.row,
    outcome: skip(leg.key, leg.row.context.accountId, date, reason, summary(leg.row)),
  };
}

/** The security a leg books, with the name Wealthfolio shows. */
interface NamedSecurity extends MovedSecurity {
  readonly name: string | null;
}

/** One leg, resolved: its quantity and the position the journal knows in its conid. */
interface Leg {
  readonly held: HeldAction;
  readonly row: CorporateActionRow;
  readonly quantity: Decimal;
  readonly position: HeldPosition | null;
}

class GroupMapper {
  readonly #group: ActionGroup;
  readonly #legs: Leg[];
  readonly #timestamp: string;

  constructor(group: ActionGroup, costBasis: CostBasisSource) {
    this.#group = group;
    const first = group.legs[0].row;
    this.#timestamp = beforeSameInstant(activityTimestamp(group.date, first.dateTime("dateTime")));
    this.#legs = group.legs.map((held) => {
      const conid = held.row.text("conid");
      return {
        held,
        row: held.row,
        quantity: held.row.decimal("quantity")!,
        position: conid
          ? costBasis.position({
            account: held.row.context.accountId,
            conid,
            through: group.date,
            inclusive: true,
            // What the action finds, not the sale of its fraction IBKR stamps with its own time.
            before: this.#timestamp.endsWith("T00:00:00Z") ? undefined : this.#timestamp,
            excludeGroup: group.groupKey,
          })
          : null,
      };
    });
  }

  /** FS / RS: a SPLIT when the ratio is exact and agrees with IBKR's quantities. */
  split(): ActionOutcome[] {
    const legs = this.#legs;
    const ratio = splitRatio(legs[0].row.text("description"));
    const one = sameSecurity(legs.map((l) => l.row));
    if (one && ratio !== null && !ratio.eq(1)) {
      if (legs.length === 1) {
        const [leg] = legs;
        const held = leg.position;
        const agrees = held !== null && held.complete && held.quantity.gt(0)
          ? held.quantity.times(ratio.minus(1)).eq(leg.quantity)
          // Without the position, the ratio can only be checked for its direction.
          : leg.quantity.gt(0) === ratio.gt(1);
        if (agrees) return [this.#splitOutcome(leg, ratio)];
      }
      const out = legs.find((l) => l.quantity.lt(0));
      const into = legs.find((l) => l.quantity.gt(0));
      if (legs.length === 2 && out && into && into.quantity.eq(out.quantity.abs().times(ratio))) {
        return [
          skipLeg(out.held, this.#group.date, `booked-with:${into.held.key}`),
          this.#splitOutcome(into, ratio),
        ];
      }
    }
    if (one && legs.length === 1) {
      // IBKR's quantity is the truth; a ratio that cannot reproduce it is not used.
      if (legs[0].quantity.gt(0)) return this.exchange(NO_COST);
      return skipGroup(
        this.#group,
        () => `needs-review:corporate-action:${this.#group.type}:split-ratio`,
      );
    }
    return this.exchange(null);
  }

  /**
   * Old legs out, new legs in with the old legs' cost, cash for the proceeds. `orphanCost` is the
   * cost of new legs when no leg goes out: zero for shares received, null (unknown) otherwise.
   */
  exchange(orphanCost: Cost | null, options: { tenderLine?: boolean } = {}): ActionOutcome[] {
    const outs = this.#legs.filter((l) => l.quantity.lt(0));
    const ins = this.#legs.filter((l) => l.quantity.gt(0));
    const carried = outs.length === 0 ? orphanCost : this.#costOut(outs);
    const costs = allocate(carried, ins);
    const tendered = options.tenderLine && outs.length === 1 ? this.#name(outs[0]) : null;
    return this.#legs.map((leg) => {
      if (leg.quantity.isZero()) return this.#cashOnly(leg);
      let named = this.#name(leg);
      // IBKR parks tendered shares on a temporary line listed on CORPACT (contracts §4.7,
      // CORT → CORT.OD2) until a later action pays them out. Nothing names that line, and it
      // holds the very shares tendered: it is booked as their asset, under its own conid, so
      // the payout finds it.
      if (
        !named.ok && leg.quantity.gt(0) && tendered?.ok &&
        named.reason === "corporate-action-placeholder-venue:CORPACT"
      ) {
        named = tendered;
      }
      if (!named.ok) {
        return skipLeg(leg.held, this.#group.date, named.reason);
      }
      const inbound = leg.quantity.gt(0);
      const cost = inbound ? costs.get(leg) ?? null : null;
      const money = majorCurrency(leg.row.text("currency")!);
      const costNote = !inbound
        ? ""
        : cost === null
        ? " [cost basis unknown: not in IBKR's row, and the journal does not hold the position it came from]"
        : outs.length === 0
        ? " [received at zero cost: the position it came with keeps its cost]"
        : " [cost carried from the security it replaces]";
      const activity: Activity = {
        ...this.#security(leg, named.value),
        activityType: inbound ? "TRANSFER_IN" : "TRANSFER_OUT",
        quantity: leg.quantity.abs(),
        unitPrice: cost === null ? null : cost.dividedBy(leg.quantity),
        currency: money.currency,
        notes: `IBKR ${this.#group.type}: ${leg.row.text("description") ?? ""}${costNote}`,
      };
      return this.#booked(leg, [activity]);
    });
  }

  /**
   * Each leg sold for its proceeds (checked by `saleProblem`): a SELL of IBKR's quantity at
   * proceeds ÷ quantity, so Wealthfolio's cash (quantity × price) is IBKR's. When the division
   * does not terminate (100 for 3 shares) the price keeps Decimal's 20 significant digits: the
   * cash then misses the proceeds by less than 10⁻¹⁵ of them, far below the cent.
   */
  sale(): ActionOutcome[] {
    return this.#legs.map((leg) => {
      const named = this.#name(leg);
      if (!named.ok) return skipLeg(leg.held, this.#group.date, named.reason);
      const money = majorCurrency(leg.row.text("currency")!);
      const quantity = leg.quantity.abs();
      const proceeds = money.convert(leg.row.decimal("proceeds")!);
      const activity: Activity = {
        ...this.#security(leg, named.value),
        activityType: "SELL",
        quantity,
        unitPrice: proceeds.dividedBy(quantity),
        amount: proceeds,
        fee: ZERO,
        currency: money.currency,
        notes: `IBKR ${this.#group.type}: ${leg.row.text("description") ?? ""}`,
      };
      return { row: leg.row, outcome: { kind: "activities", activities: [activity] } };
    });
  }

  /** The cost of every old leg, in one currency; null if any part of it is unknown. */
  #costOut(outs: readonly Leg[]): Cost | null {
    let amount = ZERO;
    let currency: string | null = null;
    for (const leg of outs) {
      const cost = legCost(leg);
      if (cost === null || (currency !== null && currency !== cost.currency)) return null;
      currency = cost.currency;
      amount = amount.plus(cost.amount);
    }
    return { amount, currency };
  }

  #splitOutcome(leg: Leg, ratio: Decimal): ActionOutcome {
    const named = this.#name(leg);
    if (!named.ok) {
      return skipLeg(leg.held, this.#group.date, named.reason);
    }
    const money = majorCurrency(leg.row.text("currency")!);
    return this.#booked(leg, [{
      ...this.#security(leg, named.value),
      activityType: "SPLIT",
      quantity: null,
      unitPrice: null,
      // Wealthfolio's SPLIT takes the ratio in `amount`: new shares per old share.
      amount: ratio,
      currency: money.currency,
      notes: `IBKR ${this.#group.type}: ${leg.row.text("description") ?? ""}`,
    }]);
  }

  /** A leg with no shares: only its cash, if any. */
  #cashOnly(leg: Leg): ActionOutcome {
    if ((leg.row.decimal("proceeds") ?? ZERO).isZero()) {
      return skipLeg(leg.held, this.#group.date, "zero-quantity");
    }
    return this.#booked(leg, []);
  }

  /** The leg's activities plus a cash leg for its proceeds (cash in lieu, cash consideration). */
  #booked(leg: Leg, activities: Activity[]): ActionOutcome {
    const proceeds = leg.row.decimal("proceeds");
    if (proceeds !== null && !proceeds.isZero()) {
      activities.push({
        ...cashActivity({
          key: `${leg.held.key}:proceeds`,
          account: leg.row.context.accountId,
          activityType: proceeds.gt(0) ? "TRANSFER_IN" : "TRANSFER_OUT",
          subtype: null,
          date: this.#timestamp,
          amount: proceeds,
          currency: leg.row.text("currency")!,
          notes: `IBKR ${this.#group.type} cash: ${leg.row.text("description") ?? ""}`,
          conid: leg.row.text("conid"),
          isin: leg.row.text("isin"),
          groupKey: this.#group.groupKey,
          matchKey: legMatchKey(leg.row, leg.quantity),
        }),
      });
    }
    return { row: leg.row, outcome: { kind: "activities", activities } };
  }

  /** The fields every security activity of a leg shares. */
  #security(
    leg: Leg,
    named: NamedSecurity,
  ): Omit<Activity, "activityType" | "quantity" | "unitPrice" | "currency" | "notes"> {
    return {
      key: leg.held.key,
      account: leg.row.context.accountId,
      subtype: null,
      date: this.#timestamp,
      symbol: named.symbol,
      exchangeMic: named.exchangeMic,
      instrumentType: named.instrumentType,
      name: named.name,
      isin: leg.row.text("isin"),
      conid: leg.row.text("conid"),
      amount: null,
      fee: null,
      groupKey: this.#group.groupKey,
      sourceRecordId: sourceRecordIdOf(leg.held.key),
      metadata: null,
      matchKey: legMatchKey(leg.row, leg.quantity),
    };
  }

  /**
   * The security a leg moves. The journal's symbol for the conid comes first, so the leg lands
   * on the asset Wealthfolio already holds (IBKR renames old legs `X.OLD` and lists them on the
   * placeholder venue VALUE). Otherwise the row's own, without IBKR's `.OLD` / `.NEW` marks.
   */
  #name(leg: Leg): { ok: true; value: NamedSecurity } | { ok: false; reason: string } {
    const security = movedSecurity(
      {
        symbol: (leg.row.text("symbol") ?? "").replace(/\.(?:OLD|NEW)$/, ""),
        listingExchange: leg.row.text("listingExchange"),
        currency: leg.row.text("currency"),
        isin: leg.row.text("isin"),
        cusip: leg.row.text("cusip"),
      },
      leg.row.text("assetCategory"),
      leg.position,
    );
    if (!security.ok) return security;
    const name = leg.position?.name ?? securityName(leg.row.text("description"));
    return { ok: true, value: { ...security.value, name } };
  }
}

/** What an old leg cost: IBKR's own `costBasis` when the row has it, else the journal's FIFO cost. */
function legCost(leg: Leg): Cost | null {
  const given = leg.row.decimal("costBasis");
  if (given !== null && !given.isZero()) {
    const money = majorCurrency(leg.row.text("currency")!);
    return { amount: money.convert(given.abs()), currency: money.currency };
  }
  const amount = leg.position?.costOf(leg.quantity.abs()) ?? null;
  return amount === null ? null : { amount, currency: leg.position!.currency };
}

/**
 * Shares the carried cost among the new legs: all of it to a single leg, else in proportion to
 * IBKR's `value` of each (unknown when a leg has none). A leg in another currency than the cost
 * gets none: converting it would need a rate IBKR did not give for this.
 */
function allocate(carried: Cost | null, ins: readonly Leg[]): Map<Leg, Decimal | null> {
  const result = new Map<Leg, Decimal | null>();
  const values = ins.map((l) => l.row.decimal("value"));
  const total = values.reduce<Decimal>((s, v) => s.plus(v ?? ZERO), ZERO);
  ins.forEach((leg, i) => {
    const currency = majorCurrency(leg.row.text("currency")!).currency;
    if (carried === null || (carried.currency !== null && carried.currency !== currency)) {
      result.set(leg, null);
    } else if (ins.length === 1 || carried.amount.isZero()) {
      result.set(leg, carried.amount);
    } else if (values.every((v) => v !== null && v.gt(0))) {
      result.set(leg, carried.amount.times(values[i]!).dividedBy(total));
    } else {
      result.set(leg, null);
    }
  });
  return result;
}

/**
 * One second earlier, within the day. IBKR stamps the sale of an action's fractional entitlements
 * (`FracShare`) with the action's own time (20:25 ET in jal's samples); Wealthfolio applies
 * activities in time order, and the split must come before the sale of its fraction.
 */
function beforeSameInstant(timestamp: string): string {
  if (timestamp.endsWith("T00:00:00Z")) return timestamp;
  return new Date(Date.parse(timestamp) - 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The ratio of `SPLIT N FOR M` (N new shares for M old) as an exact decimal, or null when the
 * text has none or N/M does not terminate (1 FOR 3): Wealthfolio's ratio is a decimal, and a
 * rounded one would leave 99.999… shares where IBKR has 100.
 */
export function splitRatio(description: string | null): Decimal | null {
  const m = /\bSPLIT\s+(\d+(?:\.\d+)?)\s+FOR\s+(\d+(?:\.\d+)?)\b/i.exec(description ?? "");
  if (!m) return null;
  const [n, d] = [new Decimal(m[1]), new Decimal(m[2])];
  if (n.isZero() || d.isZero()) return null;
  const ratio = n.dividedBy(d);
  return ratio.times(d).eq(n) ? ratio : null;
}

/** Whether every leg is the same security: one conid and one ISIN (where given). */
function sameSecurity(rows: readonly CorporateActionRow[]): boolean {
  const conids = new Set(rows.map((r) => r.text("conid")));
  const isins = new Set(rows.map((r) => r.text("isin")).filter((i) => i !== null));
  return conids.size === 1 && !conids.has(null) && isins.size <= 1;
}

/** The security's name from the leg's `(SYMBOL, NAME, ID)` tail, e.g. `VIATRIS INC-W/I`. */
function securityName(description: string | null): string | null {
  const tail = /\(([^()]*)\)\s*$/.exec(description ?? "");
  const parts = tail?.[1].split(",").map((p) => p.trim()) ?? [];
  return parts.length >= 3 ? parts.slice(1, -1).join(", ") : null;
}

function summary(row: CorporateActionRow): Record<string, string | null> {
  return {
    section: "CorporateActions",
    type: row.text("type"),
    symbol: row.text("symbol"),
    conid: row.text("conid"),
    quantity: row.attributes["quantity"] ?? null,
    proceeds: row.attributes["proceeds"] ?? null,
    currency: row.text("currency"),
    description: row.text("description"),
  };
}
