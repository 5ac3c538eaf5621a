/**
 * Transfers → TRANSFER_IN / TRANSFER_OUT (contracts/ibkr-flex.md §2.7 and §4.6; Wealthfolio's
 * transfer semantics in wealthfolio-api.md §5).
 *
 * - Cash (`assetCategory="CASH"`): a cash transfer of `|cashTransfer|` in the row's currency.
 * - Securities: a transfer of `|quantity|` of the security. IBKR's row has no cost basis
 *   (`positionAmount` is the market value), so a transfer in carries a cost only when it is known:
 *   an INTERNAL transfer from another IBKR account whose position the journal holds (FIFO cost of
 *   the quantity, from that account's activities before the transfer's day).
 * - Wealthfolio treats a transfer as internal unless `metadata.flow.is_external` is true. INTERNAL
 *   moves between the user's own IBKR accounts, so it stays internal; ACATS, ATON and FOP bring
 *   money or shares from another broker, so they are marked external (a contribution or a
 *   withdrawal in Wealthfolio's performance).
 * - Options and bonds move as their trades book them (moved_security.ts): contracts under the OCC
 *   symbol, face value under the ISIN.
 * - Other types (OTC, INTERCOMPANY, anything new) are skipped as `needs-review:transfer:<type>`.
 */
import type { Decimal } from "decimal.js";
import type { Activity, RowOutcome } from "../domain/activity.ts";
import { sourceRecordIdOf } from "../domain/activity.ts";
import { activityTimestamp } from "../flex/dates.ts";
import type { FlexRow } from "../flex/row.ts";
import type { TRANSFER } from "../flex/schema.ts";
import { cashActivity } from "./cash_activity.ts";
import type { CostBasisSource } from "./cost_basis.ts";
import { majorCurrency } from "./currency.ts";
import { instrumentTypeOf } from "./instruments.ts";
import { movedSecurity } from "./moved_security.ts";
import { skip } from "./skip.ts";

export type TransferRow = FlexRow<typeof TRANSFER>;

/** Transfer types we book, and whether the money or shares come from outside IBKR. */
const EXTERNAL: Readonly<Record<string, boolean>> = {
  INTERNAL: false,
  ACATS: true,
  ATON: true,
  FOP: true,
};

/** IBKR writes `ACAT` as well as `ACATS` (ibflex normalises it; contracts §2.7). */
function transferType(row: TransferRow): string | null {
  const type = row.text("type")?.toUpperCase() ?? null;
  return type === "ACAT" ? "ACATS" : type;
}

/** The business date of a transfer: `date`, else the date of `dateTime`, else `reportDate`. */
export function transferDate(row: TransferRow): string | null {
  return row.date("date") ?? row.dateTime("dateTime")?.date ?? row.date("reportDate");
}

/** Maps one transfer row. */
export function mapTransfer(row: TransferRow, key: string, costBasis: CostBasisSource): RowOutcome {
  const account = row.context.accountId;
  const date = transferDate(row);
  const s = summary(row);
  if (date === null) return skip(key, account, null, "missing-field:date", s);
  const type = transferType(row);
  if (type === null || !(type in EXTERNAL)) {
    return skip(key, account, date, `needs-review:transfer:${type ?? "none"}`, s);
  }
  const direction = row.text("direction")?.toUpperCase() ?? null;
  if (direction === null) return skip(key, account, date, "missing-field:direction", s);
  if (direction !== "IN" && direction !== "OUT") {
    return skip(key, account, date, `needs-review:transfer:direction:${direction}`, s);
  }
  const currency = row.text("currency");
  if (!currency) return skip(key, account, date, "missing-field:currency", s);
  const inbound = direction === "IN";
  const activityType = inbound ? "TRANSFER_IN" : "TRANSFER_OUT";
  const external = EXTERNAL[type];
  const metadata = external ? { flow: { is_external: true } } : null;
  const timestamp = activityTimestamp(date, row.dateTime("dateTime"));
  const counterparty = row.text("account");
  const notes = `IBKR ${type} transfer ${inbound ? "from" : "to"} ${
    counterparty ?? row.text("deliveringBroker") ?? row.text("company") ?? "?"
  }${row.text("description") ? `: ${row.text("description")}` : ""}`;

  const category = row.text("assetCategory");
  if (category === "CASH") {
    const amount = row.decimal("cashTransfer");
    if (amount === null) return skip(key, account, date, "missing-field:cashTransfer", s);
    if (amount.isZero()) return skip(key, account, date, "zero-amount", s);
    // IBKR signs cash by direction (jal ibkr.xml: OUT −12345, IN +150); a contradiction is not
    // ours to resolve.
    if (amount.gt(0) !== inbound) {
      return skip(
        key,
        account,
        date,
        `unexpected-sign:${amount.gt(0) ? "positive" : "negative"}:transfer-${direction}`,
        s,
      );
    }
    const activity = cashActivity({
      key,
      account,
      activityType,
      subtype: null,
      date: timestamp,
      amount,
      currency,
      notes,
      conid: null,
      isin: null,
      groupKey: null,
    });
    return { kind: "activities", activities: [{ ...activity, metadata }] };
  }

  const instrumentType = instrumentTypeOf(category);
  if (!instrumentType.ok) return skip(key, account, date, instrumentType.reason, s);
  const quantity = row.decimal("quantity");
  if (quantity === null) return skip(key, account, date, "missing-field:quantity", s);
  if (quantity.isZero()) return skip(key, account, date, "zero-quantity", s);
  const conid = row.text("conid");
  // The security as Wealthfolio already holds it (by conid), else as the row lists it.
  const held = conid
    ? costBasis.position({ account, conid, through: date, inclusive: true })
    : null;
  const security = movedSecurity(
    {
      symbol: row.text("symbol"),
      listingExchange: row.text("listingExchange"),
      currency,
      isin: row.text("isin"),
      cusip: row.text("cusip"),
    },
    category,
    held,
  );
  if (!security.ok) return skip(key, account, date, security.reason, s);
  const money = majorCurrency(currency);
  // The quantity's sign is IBKR's; the direction says which way it went.
  const moved = quantity.abs();
  let unitPrice: Decimal | null = null;
  if (inbound && type === "INTERNAL" && counterparty && conid) {
    // The shares left the user's other account the same day: its position before that day.
    const source = costBasis.position({
      account: counterparty,
      conid,
      through: date,
      inclusive: false,
    });
    const cost = source && source.currency === money.currency ? source.costOf(moved) : null;
    unitPrice = cost === null ? null : cost.dividedBy(moved);
  }
  const activity: Activity = {
    key,
    account,
    activityType,
    subtype: null,
    date: timestamp,
    symbol: security.value.symbol,
    exchangeMic: security.value.exchangeMic,
    instrumentType: security.value.instrumentType,
    name: held ? held.name : row.text("description"),
    isin: row.text("isin"),
    conid,
    quantity: moved,
    unitPrice,
    amount: null,
    fee: null,
    currency: money.currency,
    notes: inbound && unitPrice === null
      ? `${notes} [cost basis unknown: IBKR's transfer row does not carry it]`
      : notes,
    groupKey: null,
    sourceRecordId: sourceRecordIdOf(key),
    metadata,
  };
  return { kind: "activities", activities: [activity] };
}

function summary(row: TransferRow): Record<string, string | null> {
  return {
    section: "Transfers",
    type: row.text("type"),
    direction: row.text("direction"),
    symbol: row.text("symbol"),
    quantity: row.attributes["quantity"] ?? null,
    cashTransfer: row.attributes["cashTransfer"] ?? null,
    currency: row.text("currency"),
    account: row.text("account"),
    description: row.text("description"),
  };
}
