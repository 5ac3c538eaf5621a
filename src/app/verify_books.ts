/**
 * `verify-books [FILE…]`: maps each statement again (journal statements by default) and checks
 * the result against the statement's own CashReport and OpenPositions. Read-only.
 */
import type { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { type CashEffect, cashEffects, defaultCategory } from "../books/cash_effect.ts";
import { rowCategory } from "../books/categories.ts";
import {
  balanceCash,
  balancePositions,
  type CashReportRow,
  type CurrencyBooks,
  type PositionBooks,
} from "../books/verify.ts";
import type { Activity, Cancellation } from "../domain/activity.ts";
import { fromPayload } from "../domain/payload.ts";
import { FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { ROW_LEGS, rowKeyOf } from "../journal/cancellations.ts";
import { journalExists, journalPath, openJournal } from "../journal/db.ts";
import { statementBytes } from "../journal/statements.ts";
import { StatementMapper } from "../mapping/statement.ts";
import { forEachChunk, statementFiles } from "./files.ts";

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
  readonly balanced: boolean;
}

export interface BooksReport {
  readonly statements: readonly StatementBooks[];
  readonly balanced: boolean;
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
    return { statements, balanced: statements.every((s) => s.balanced) };
  } finally {
    db?.close();
  }
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

  constructor(
    origin: string,
    readonly db: DatabaseSync | undefined,
    done: (s: StatementBooks) => void,
  ) {
    const mapper = new StatementMapper({
      outcome: (outcome, _statement, row) => {
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
    });
    this.reader = new FlexDocumentReader(origin, {
      statementStart: (info) => {
        this.#reset();
        mapper.statementStart(info);
      },
      row: (row, info) => {
        mapper.row(row, info);
        if (row.tag === "CashReportCurrency") {
          const currency = row.text("currency");
          if (
            currency && currency !== "BASE_SUMMARY" && row.text("levelOfDetail") !== "BaseCurrency"
          ) {
            this.#report.push({ currency, attributes: row.attributes });
          }
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
          }
        } else if (row.tag === "AccountInformation") {
          this.#dateOpened = row.date("dateOpened");
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
  }

  #finish(info: StatementInfo): StatementBooks {
    const effects: CashEffect[] = this.#booked.flatMap((b) => cashEffects(b.activity, b.category));
    const changes = new Map<string, Decimal>();
    const move = (a: Activity, sign: 1 | -1) => {
      const delta = quantityChange(a);
      if (delta === null) return;
      const instrument = a.conid ?? a.symbol ?? "?";
      changes.set(instrument, (changes.get(instrument) ?? new Decimal(0)).plus(delta.times(sign)));
      if (a.symbol && !this.#symbols.has(instrument)) this.#symbols.set(instrument, a.symbol);
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
      for (const t of targets) {
        used.add(t.activity.key);
        effects.push(
          ...cashEffects(t.activity, t.category).map((e) => ({ ...e, amount: e.amount.negated() })),
        );
        move(t.activity, -1);
      }
    }

    const cash = this.#report.length ? balanceCash(this.#report, effects) : null;
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
        rows: balancePositions(this.#prior, changes, this.#open, this.#symbols),
      };
    const balanced = (cash ?? []).every((c) => c.balanced) &&
      positions.rows.every((p) => p.balanced);
    return {
      origin: info.origin,
      accountId: info.accountId,
      fromDate: info.fromDate,
      toDate: info.toDate,
      cash,
      positions,
      unresolved,
      skipped: this.#skipped,
      balanced,
    };
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

/** How an activity changes its instrument's quantity; null for cash. */
function quantityChange(a: Activity): Decimal | null {
  if (!a.symbol || a.quantity === null) return null;
  switch (a.activityType) {
    case "BUY":
    case "TRANSFER_IN":
      return a.quantity;
    case "SELL":
    case "TRANSFER_OUT":
      return a.quantity.negated();
    default:
      return null;
  }
}
