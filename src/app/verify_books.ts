/**
 * `verify-books [FILE…]`: maps each statement again (journal statements by default) and checks
 * the result against the statement's own CashReport and OpenPositions. Read-only.
 */
import type { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { type CashEffect, cashEffects, defaultCategory } from "../books/cash_effect.ts";
import {
  atRateOne,
  baseSummaryAsCurrency,
  baseSummaryRow,
  cashReportRow,
} from "../books/cash_report.ts";
import { rowCategory } from "../books/categories.ts";
import {
  balanceCash,
  balancePositions,
  type CashReportRow,
  type CurrencyBooks,
  type PositionBooks,
  positionChanges,
  type PositionEvent,
} from "../books/verify.ts";
import { type Activity, type Cancellation, costsSurvive } from "../domain/activity.ts";
import { fromPayload } from "../domain/payload.ts";
import { FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { isCostLeg, ROW_LEGS, rowKeyOf } from "../journal/cancellations.ts";
import { journalExists, journalPath, openJournal } from "../journal/db.ts";
import { statementBytes } from "../journal/statements.ts";
import { StatementMapper } from "../mapping/statement.ts";
import { NO_COST_BASIS } from "../mapping/cost_basis.ts";
import { journalCostBasis } from "./cost_basis.ts";
import { forEachChunk, statementFiles } from "./files.ts";

/**
 * `balanced`: everything compared agrees. `differs`: something disagrees (exit 7).
 * `not-checked`: nothing could be compared (no per-currency CashReport, positions' start unknown).
 */
export type BooksOutcome = "balanced" | "differs" | "not-checked";

export interface StatementBooks {
  readonly origin: string;
  readonly accountId: string;
  readonly fromDate: string | null;
  readonly toDate: string | null;
  /** Null when the statement has no CashReport. */
  readonly cash: readonly CurrencyBooks[] | null;
  readonly positions: {
    readonly checked: boolean;
    readonly why: string;
    readonly rows: readonly PositionBooks[];
  };
  /** Corrections whose original is neither in this statement nor in the journal. */
  readonly unresolved: readonly { key: string; reason: string }[];
  /** Rows skipped in this statement, by reason: the usual cause of a difference. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly outcome: BooksOutcome;
}

export interface BooksReport {
  readonly statements: readonly StatementBooks[];
  /** `differs` when any statement differs; `balanced` when something was compared and agrees. */
  readonly outcome: BooksOutcome;
  readonly counts: {
    readonly balanced: number;
    readonly differs: number;
    readonly notChecked: number;
  };
}

interface Booked {
  readonly activity: Activity;
  readonly category: string;
}

/** Verifies files, or every journal statement when no path is given. */
export function verifyBooks(request: { dataDir: string; paths: readonly string[] }): BooksReport {
  const path = journalPath(request.dataDir);
  const db = journalExists(path) ? openJournal(path, { create: false }) : undefined;
  try {
    const statements: StatementBooks[] = [];
    const collect = (origin: string, feed: (write: (chunk: Uint8Array) => void) => void) => {
      const collector = new BooksCollector(origin, db, (s) => statements.push(s));
      feed((chunk) => collector.reader.write(chunk));
      collector.reader.close();
    };
    if (request.paths.length > 0) {
      for (const file of statementFiles(request.paths)) {
        collect(file, (write) => forEachChunk(file, write));
      }
    } else if (db) {
      // Statements that mapped: not a fetched one that was refused or never got mapped.
      const stored = db.prepare(
        `SELECT id, origin FROM statements s WHERE refused IS NULL
         AND EXISTS (SELECT 1 FROM statement_mappings m WHERE m.statement_id = s.id)
         ORDER BY id`,
      ).all() as {
        id: number;
        origin: string;
      }[];
      for (const s of stored) {
        collect(s.origin, (write) => {
          for (const chunk of statementBytes(db, s.id)) write(chunk);
        });
      }
    }
    return report(statements);
  } finally {
    db?.close();
  }
}

function report(statements: StatementBooks[]): BooksReport {
  const count = (outcome: BooksOutcome) => statements.filter((s) => s.outcome === outcome).length;
  const counts = {
    balanced: count("balanced"),
    differs: count("differs"),
    notChecked: count("not-checked"),
  };
  const outcome = counts.differs > 0 ? "differs" : counts.balanced > 0 ? "balanced" : "not-checked";
  return { statements, outcome, counts };
}

class BooksCollector {
  readonly reader: FlexDocumentReader;
  #booked: Booked[] = [];
  #cancels: { key: string; cancel: Cancellation }[] = [];
  #skipped: Record<string, number> = {};
  #report: CashReportRow[] = [];
  #open = new Map<string, Decimal>();
  #prior = new Map<string, Decimal>();
  #priorDates = new Map<string, string>();
  #symbols = new Map<string, string>();
  #hasOpenPositions = false;
  #dateOpened: string | null = null;
  #baseCurrency: string | null = null;
  #baseSummary: CashReportRow | null = null;
  /** Whether every row with an outcome that moves cash converts to base at exactly 1. */
  #atRateOne = true;

  constructor(
    origin: string,
    readonly db: DatabaseSync | undefined,
    done: (s: StatementBooks) => void,
  ) {
    const mapper = new StatementMapper({
      outcome: (outcome, _statement, row) => {
        if (outcome.kind === "activities" || outcome.cancels) {
          this.#atRateOne &&= atRateOne(row);
        }
        if (outcome.kind === "activities") {
          for (const activity of outcome.activities) {
            this.#booked.push({ activity, category: rowCategory(row, activity) });
          }
        } else {
          this.#skipped[outcome.skipped.reason] = (this.#skipped[outcome.skipped.reason] ?? 0) + 1;
        }
        if (outcome.cancels?.mode === "reverse" && outcome.kind === "skipped") {
          this.#cancels.push({ key: outcome.skipped.key, cancel: outcome.cancels });
        }
      },
      ignored: () => {},
    }, db ? journalCostBasis(db) : NO_COST_BASIS);
    this.reader = new FlexDocumentReader(origin, {
      statementStart: (info) => {
        this.#reset();
        mapper.statementStart(info);
      },
      row: (row, info) => {
        mapper.row(row, info);
        if (row.tag === "CashReportCurrency") {
          const books = cashReportRow(row, info.accountId);
          if (books) this.#report.push(books);
          this.#baseSummary ??= baseSummaryRow(row, info.accountId);
        } else if (
          row.tag === "OpenPosition" && (row.text("levelOfDetail") ?? "SUMMARY") === "SUMMARY"
        ) {
          this.#hasOpenPositions = true;
          const instrument = row.text("conid") ?? row.text("symbol");
          const position = row.decimal("position");
          if (instrument && position) {
            this.#open.set(
              instrument,
              (this.#open.get(instrument) ?? new Decimal(0)).plus(position),
            );
            this.#symbols.set(instrument, row.text("symbol") ?? instrument);
          }
        } else if (row.tag === "PriorPeriodPosition") {
          // One row per day: the earliest day's quantity is the start of the period.
          const instrument = row.text("conid") ?? row.text("symbol");
          const position = row.decimal("position");
          const date = row.date("date") ?? "";
          const seen = instrument ? this.#priorDates.get(instrument) : undefined;
          if (instrument && position && (seen === undefined || date < seen)) {
            this.#prior.set(instrument, position);
            this.#priorDates.set(instrument, date);
            // A position gone by the end is named by its prior row (OpenPositions has none).
            if (!this.#symbols.has(instrument)) {
              this.#symbols.set(instrument, row.text("symbol") ?? instrument);
            }
          }
        } else if (row.tag === "AccountInformation") {
          this.#dateOpened = row.date("dateOpened");
          this.#baseCurrency = row.text("currency");
        }
      },
      sectionEnd: (section, info) => mapper.sectionEnd(section, info),
      statementEnd: (info) => {
        mapper.statementEnd(info);
        done(this.#finish(info));
      },
    });
  }

  #reset(): void {
    this.#booked = [];
    this.#cancels = [];
    this.#skipped = {};
    this.#report = [];
    this.#open = new Map();
    this.#prior = new Map();
    this.#priorDates = new Map();
    this.#symbols = new Map();
    this.#hasOpenPositions = false;
    this.#dateOpened = null;
    this.#baseCurrency = null;
    this.#baseSummary = null;
    this.#atRateOne = true;
  }

  #finish(info: StatementInfo): StatementBooks {
    const effects: CashEffect[] = this.#booked.flatMap((b) => cashEffects(b.activity, b.category));
    const events: PositionEvent[] = [];
    const move = (a: Activity, sign: 1 | -1) => {
      const event = positionEvent(a, sign);
      if (event === null) return;
      events.push(event);
      if (a.symbol && !this.#symbols.has(event.instrument)) {
        this.#symbols.set(event.instrument, a.symbol);
      }
    };
    for (const b of this.#booked) move(b.activity, 1);

    // A reversal undoes its original: subtract the original's effects, wherever it was booked.
    const used = new Set<string>();
    const unresolved: { key: string; reason: string }[] = [];
    for (const { key, cancel } of this.#cancels) {
      const targets = this.#findTargets(info.accountId, cancel, used);
      if (targets.length === 0) {
        unresolved.push({
          key,
          reason: `${cancel.reason}: original not in this statement or the journal`,
        });
        continue;
      }
      // A cancelled trade's costs stay charged (costsSurvive): only its trade value is undone.
      const costsStand = costsSurvive(cancel.reason);
      for (const t of targets) {
        used.add(t.activity.key);
        if (costsStand && isCostLeg(t.activity.key)) continue;
        effects.push(
          ...cashEffects(t.activity, t.category)
            .filter((e) => !(costsStand && e.category === "commissions"))
            .map((e) => ({ ...e, amount: e.amount.negated() })),
        );
        move(t.activity, -1);
      }
    }

    const cash = this.#report.length
      ? balanceCash(this.#report, effects)
      : this.#baseBooks(effects);
    const startKnown = this.#prior.size > 0 ||
      (this.#dateOpened !== null && info.fromDate !== null && this.#dateOpened >= info.fromDate);
    const positions = !this.#hasOpenPositions
      ? { checked: false, why: "no OpenPositions in the statement", rows: [] }
      : !startKnown
      ? {
        checked: false,
        why:
          "starting positions unknown (no PriorPeriodPositions quantities, account opened before the period)",
        rows: [],
      }
      : {
        checked: true,
        why: "",
        rows: balancePositions(
          this.#prior,
          positionChanges(this.#prior, events),
          this.#open,
          this.#symbols,
        ),
      };
    const outcome: BooksOutcome = cash === null && !positions.checked
      ? "not-checked"
      : (cash ?? []).every((c) => c.balanced) && positions.rows.every((p) => p.balanced)
      ? "balanced"
      : "differs";
    return {
      origin: info.origin,
      accountId: info.accountId,
      fromDate: info.fromDate,
      toDate: info.toDate,
      cash,
      positions,
      unresolved,
      skipped: this.#skipped,
      outcome,
    };
  }

  /** The BASE_SUMMARY as the books of the statement's one currency, when it can stand as such. */
  #baseBooks(effects: readonly CashEffect[]): CurrencyBooks[] | null {
    const currencies = new Set(effects.map((e) => e.currency));
    if (!this.#baseSummary || currencies.size > 1) return null;
    const currency = [...currencies][0] ?? this.#baseCurrency ?? "BASE";
    const books = baseSummaryAsCurrency(this.#baseSummary, currency, this.#atRateOne);
    return books
      ? balanceCash([books], effects).map((c) => ({ ...c, basis: "BASE_SUMMARY" }))
      : null;
  }

  #findTargets(account: string, cancel: Cancellation, used: Set<string>): Booked[] {
    const inStatement = cancel.targetKey
      ? this.#booked.filter((b) => rowKeyOf(b.activity.key) === cancel.targetKey)
      : (() => {
        const first = this.#booked.find((b) =>
          b.activity.matchKey === cancel.targetMatch && !used.has(b.activity.key)
        );
        return first
          ? this.#booked.filter((b) => rowKeyOf(b.activity.key) === rowKeyOf(first.activity.key))
          : [];
      })();
    if (inStatement.length || !this.db) return inStatement;
    const base = cancel.targetKey ?? (this.db.prepare(
      `SELECT key FROM activities WHERE account_id = ? AND match_key = ? ORDER BY business_date, key LIMIT 1`,
    ).get(account, cancel.targetMatch) as { key: string } | undefined)?.key;
    if (!base) return [];
    const row = rowKeyOf(base);
    const keys = [row, ...ROW_LEGS.map((leg) => `${row}:${leg}`)];
    const found = this.db.prepare(
      `SELECT payload FROM activities WHERE key IN (${
        keys.map(() => "?").join(", ")
      }) AND activity_type IS NOT NULL`,
    ).all(...keys) as { payload: string }[];
    return found.map((f) => {
      const activity = fromPayload(JSON.parse(f.payload));
      return { activity, category: defaultCategory(activity) };
    });
  }
}

/**
 * How an activity changes its instrument's quantity, the way Wealthfolio applies it; `sign` −1
 * undoes it (a cancelled original). Null for cash.
 */
function positionEvent(a: Activity, sign: 1 | -1): PositionEvent | null {
  if (!a.symbol) return null;
  const instrument = a.conid ?? a.symbol;
  const at = (delta: Decimal): PositionEvent => ({
    instrument,
    date: a.date,
    delta: sign === 1 ? delta : delta.negated(),
  });
  switch (a.activityType) {
    case "BUY":
    case "TRANSFER_IN":
      return a.quantity === null ? null : at(a.quantity);
    case "SELL":
    case "TRANSFER_OUT":
      return a.quantity === null ? null : at(a.quantity.negated());
    case "SPLIT":
      if (a.amount === null || a.amount.isZero()) return null;
      return {
        instrument,
        date: a.date,
        ratio: sign === 1 ? a.amount : new Decimal(1).dividedBy(a.amount),
      };
    default:
      return null;
  }
}
