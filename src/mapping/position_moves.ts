/**
 * Rows that move a position without a price — corporate actions and transfers — are held until
 * their statement ends and then mapped in date order (document order within a day). By then every
 * trade of the statement has been reported, so the cost of what they move can be looked up
 * whatever order the query put its sections in, and an action that moves shares a transfer
 * brought in sees them.
 */
import type { RowOutcome } from "../domain/activity.ts";
import { activityKey } from "../domain/activity.ts";
import type { AnyFlexRow, StatementInfo } from "../flex/reader.ts";
import {
  actionDate,
  type CorporateActionRow,
  groupActions,
  type HeldAction,
  isActionCancel,
  mapActionCancel,
  mapActionGroup,
} from "./corporate_actions.ts";
import type { CostBasisSource, InstrumentRef } from "./cost_basis.ts";
import type { CompositeKeys } from "./keys.ts";
import { mapTransfer, transferDate, type TransferRow } from "./transfers.ts";

/** What the held rows are mapped into: outcomes and by-design ignores, as the statement mapper reports them. */
export interface MoveSink {
  outcome(outcome: RowOutcome, row: AnyFlexRow): void;
  ignored(reason: string): void;
}

interface Move {
  readonly date: string;
  readonly order: number;
  readonly map: () => void;
}

export class PositionMoves {
  #actions: (HeldAction & { order: number })[] = [];
  #transfers: { row: TransferRow; key: string; order: number }[] = [];
  #order = 0;

  /** Holds a corporate-action row; its key is fixed now, in document order. */
  addAction(row: CorporateActionRow, keys: CompositeKeys, statement: StatementInfo): void {
    const key = row.ibkrId
      ? activityKey(statement.accountId, row.ibkrId)
      : keys.next(statement.accountId, [
        "corporate-action",
        row.dateTime("dateTime")?.date ?? row.date("reportDate"),
        row.text("actionID") ?? row.text("conid"),
        row.decimal("quantity")?.toFixed() ?? null,
      ]);
    this.#actions.push({ row, key, order: this.#order++ });
  }

  addTransfer(row: TransferRow, keys: CompositeKeys, statement: StatementInfo): void {
    const key = row.ibkrId
      ? activityKey(statement.accountId, row.ibkrId)
      : keys.next(statement.accountId, [
        "transfer",
        transferDate(row),
        row.text("conid") ?? row.text("symbol"),
        row.decimal("quantity")?.toFixed() ?? row.decimal("cashTransfer")?.toFixed() ?? null,
      ]);
    this.#transfers.push({ row, key, order: this.#order++ });
  }

  /** Maps everything held, oldest first, and forgets it. */
  flush(costBasis: CostBasisSource, sink: MoveSink): void {
    const actions = this.#actions;
    const transfers = this.#transfers;
    this.#actions = [];
    this.#transfers = [];
    this.#order = 0;

    // SUMMARY rows repeat DETAIL rows (contracts §2.4 says so of cash; IBKR does the same here,
    // jal ibkr.xml): booked only when the export has no DETAIL rows at all.
    const hasDetail = actions.some((a) => a.row.text("levelOfDetail") !== "SUMMARY");
    const booked: typeof actions = [];
    for (const a of actions) {
      if (a.row.text("levelOfDetail") !== "SUMMARY") booked.push(a);
      else if (a.row.attributes["accountId"]?.trim() === "-") {
        sink.ignored("corporate-action-summary-duplicate");
      } else if (hasDetail) sink.ignored("corporate-action-summary-beside-detail");
      else booked.push(a);
    }

    costBasis.prefetch?.(instruments(booked.map((a) => a.row), transfers.map((t) => t.row)));
    const orderOf = new Map(booked.map((a) => [a.row, a.order]));
    const moves: Move[] = [];
    const cancels = booked.filter((a) => isActionCancel(a.row));
    for (const a of cancels) {
      moves.push({
        date: actionDate(a.row),
        order: a.order,
        map: () => sink.outcome(mapActionCancel(a), a.row),
      });
    }
    for (const group of groupActions(booked.filter((a) => !isActionCancel(a.row)))) {
      moves.push({
        date: group.date,
        order: Math.min(...group.legs.map((l) => orderOf.get(l.row) ?? 0)),
        map: () => {
          for (const { row, outcome } of mapActionGroup(group, costBasis)) {
            sink.outcome(outcome, row);
          }
        },
      });
    }
    for (const t of transfers) {
      moves.push({
        date: transferDate(t.row) ?? "",
        order: t.order,
        map: () => sink.outcome(mapTransfer(t.row, t.key, costBasis), t.row),
      });
    }
    // Each move is reported before the next is mapped: the journal sees it when the next one
    // looks up a cost.
    moves.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.order - b.order));
    for (const move of moves) move.map();
  }
}

/** The positions the held rows will look up: their own, and an INTERNAL transfer's other account. */
function instruments(
  actions: readonly CorporateActionRow[],
  transfers: readonly TransferRow[],
): InstrumentRef[] {
  const refs: InstrumentRef[] = [];
  for (const row of [...actions, ...transfers]) {
    const conid = row.text("conid");
    if (!conid) continue;
    refs.push({ account: row.context.accountId, conid });
    const other = row.tag === "Transfer" ? row.text("account") : null;
    if (other) refs.push({ account: other, conid });
  }
  return refs;
}
