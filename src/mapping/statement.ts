/**
 * Maps the rows of one document, statement by statement, giving every importable row an
 * outcome. Pure apart from the sink it reports to: no I/O, no clock.
 *
 * Cross-row rules live here: SUMMARY cash rows of a real account are held until the section
 * ends, because they are booked only when the export has no DETAIL rows (contracts §2.4);
 * corporate actions and transfers are held until the statement ends (`position_moves.ts`).
 */
import type { RowOutcome } from "../domain/activity.ts";
import type { AnyFlexRow, StatementInfo, StatementVisitor } from "../flex/reader.ts";
import { cashKey, type CashRow, isAccountSummary, isSummaryDuplicate, mapCash } from "./cash.ts";
import { CompositeKeys } from "./keys.ts";
import { isExecution, mapTrade, tradeKey } from "./trades.ts";
import { mapSalesTax, salesTaxKey } from "./sales_tax.ts";
import { type CostBasisSource, NO_COST_BASIS } from "./cost_basis.ts";
import { PositionMoves } from "./position_moves.ts";

/** Receives each outcome as soon as it is decided. */
export interface OutcomeSink {
  /** `row` is the row the outcome came from, for callers that need its IBKR type (the books). */
  outcome(outcome: RowOutcome, statement: StatementInfo, row: AnyFlexRow): void;
  /** A row read and left alone by design (an aggregate, a duplicate summary), by reason. */
  ignored(reason: string, statement: StatementInfo): void;
}

/** Rows that are reference data for later steps (reconcile, books), not activities. */
const REFERENCE_TAGS = new Set([
  "OpenPosition",
  "PriorPeriodPosition",
  "CashReportCurrency",
  "SecurityInfo",
  "ConversionRate",
  "AccountInformation",
]);

export class StatementMapper implements StatementVisitor {
  readonly #sink: OutcomeSink;
  readonly #costBasis: CostBasisSource;
  #keys = new CompositeKeys();
  #moves = new PositionMoves();
  #heldSummaries: CashRow[] = [];
  #sawCashDetail = false;

  /** `costBasis` prices what corporate actions and transfers move (nothing known by default). */
  constructor(sink: OutcomeSink, costBasis: CostBasisSource = NO_COST_BASIS) {
    this.#sink = sink;
    this.#costBasis = costBasis;
  }

  statementStart(_info: StatementInfo): void {
    this.#keys = new CompositeKeys();
    this.#moves = new PositionMoves();
    this.#heldSummaries = [];
    this.#sawCashDetail = false;
  }

  row(row: AnyFlexRow, statement: StatementInfo): void {
    switch (row.tag) {
      case "Trade": {
        if (!isExecution(row)) {
          this.#sink.ignored(`trade-level:${row.text("levelOfDetail")}`, statement);
          return;
        }
        this.#sink.outcome(mapTrade(row, tradeKey(row, this.#keys)), statement, row);
        return;
      }
      case "CashTransaction": {
        if (isSummaryDuplicate(row)) {
          this.#sink.ignored("cash-summary-duplicate", statement);
        } else if (isAccountSummary(row) && !row.ibkrId) {
          this.#heldSummaries.push(row);
        } else {
          this.#sawCashDetail = true;
          this.#sink.outcome(mapCash(row, cashKey(row, this.#keys)), statement, row);
        }
        return;
      }
      case "CorporateAction":
        this.#moves.addAction(row, this.#keys, statement);
        return;
      case "Transfer":
        this.#moves.addTransfer(row, this.#keys, statement);
        return;
      case "SalesTax":
        this.#sink.outcome(mapSalesTax(row, salesTaxKey(row, this.#keys)), statement, row);
        return;
      default:
        if (REFERENCE_TAGS.has(row.tag)) this.#sink.ignored(`reference:${row.tag}`, statement);
    }
  }

  sectionEnd(section: string, statement: StatementInfo): void {
    if (section === "CashTransactions") this.#flushSummaries(statement);
  }

  statementEnd(statement: StatementInfo): void {
    this.#flushSummaries(statement);
    this.#moves.flush(this.#costBasis, {
      outcome: (outcome, row) => this.#sink.outcome(outcome, statement, row),
      ignored: (reason) => this.#sink.ignored(reason, statement),
    });
  }

  #flushSummaries(statement: StatementInfo): void {
    const held = this.#heldSummaries;
    this.#heldSummaries = [];
    for (const row of held) {
      if (this.#sawCashDetail) {
        this.#sink.ignored("cash-summary-beside-detail", statement);
      } else {
        this.#sink.outcome(mapCash(row, cashKey(row, this.#keys)), statement, row);
      }
    }
  }
}
