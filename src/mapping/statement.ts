/**
 * Maps the rows of one document, statement by statement, giving every importable row an
 * outcome. Pure apart from the sink it reports to: no I/O, no clock.
 *
 * Cross-row rules live here: SUMMARY cash rows of a real account are held until the section
 * ends, because they are booked only when the export has no DETAIL rows (contracts §2.4).
 */
import type { RowOutcome } from "../domain/activity.ts";
import type { AnyFlexRow, StatementInfo, StatementVisitor } from "../flex/reader.ts";
import { cashKey, type CashRow, isAccountSummary, isSummaryDuplicate, mapCash } from "./cash.ts";
import { CompositeKeys } from "./keys.ts";
import { skip } from "./skip.ts";
import { isExecution, mapTrade, tradeKey } from "./trades.ts";
import { mapSalesTax, salesTaxKey } from "./sales_tax.ts";
import { activityKey } from "../domain/activity.ts";

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
  #keys = new CompositeKeys();
  #heldSummaries: CashRow[] = [];
  #sawCashDetail = false;

  constructor(sink: OutcomeSink) {
    this.#sink = sink;
  }

  statementStart(_info: StatementInfo): void {
    this.#keys = new CompositeKeys();
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
      case "CorporateAction": {
        const key = row.ibkrId
          ? activityKey(statement.accountId, row.ibkrId)
          : this.#keys.next(statement.accountId, [
            "corporate-action",
            row.dateTime("dateTime")?.date ?? null,
            row.text("actionID") ?? row.text("conid"),
            row.decimal("quantity")?.toFixed() ?? null,
          ]);
        const reason = row.text("code")?.split(";").includes("Ca")
          ? "needs-review:corporate-action-cancelled"
          : `needs-review:corporate-action:${row.text("type") ?? "none"}`;
        this.#sink.outcome(
          skip(
            key,
            statement.accountId,
            row.dateTime("dateTime")?.date ?? row.date("reportDate"),
            reason,
            {
              section: "CorporateActions",
              type: row.text("type"),
              symbol: row.text("symbol"),
              quantity: row.attributes["quantity"] ?? null,
              description: row.text("description"),
            },
          ),
          statement,
          row,
        );
        return;
      }
      case "Transfer": {
        const key = row.ibkrId
          ? activityKey(statement.accountId, row.ibkrId)
          : this.#keys.next(statement.accountId, [
            "transfer",
            row.date("date") ?? row.dateTime("dateTime")?.date ?? null,
            row.text("conid") ?? row.text("symbol"),
            row.decimal("quantity")?.toFixed() ?? row.decimal("cashTransfer")?.toFixed() ?? null,
          ]);
        this.#sink.outcome(
          skip(
            key,
            statement.accountId,
            row.date("date") ?? row.dateTime("dateTime")?.date ?? null,
            `not-yet-mapped:transfer:${row.text("type") ?? "none"}`,
            {
              section: "Transfers",
              type: row.text("type"),
              direction: row.text("direction"),
              symbol: row.text("symbol"),
              quantity: row.attributes["quantity"] ?? null,
              cashTransfer: row.attributes["cashTransfer"] ?? null,
            },
          ),
          statement,
          row,
        );
        return;
      }
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
