/**
 * Maps one stored or arriving document into the journal: the reader, the account guard, the
 * mapper and the activity writer wired together. Called inside the caller's transaction.
 */
import type { DatabaseSync } from "node:sqlite";
import { MAPPING_VERSION, type RowOutcome } from "../domain/activity.ts";
import { AccountGuardError, FlexDocumentError, isMaskedAccount } from "../flex/errors.ts";
import { type DocumentSummary, FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { ActivityWriter } from "../journal/activities.ts";
import {
  recordCancellation,
  type Resolution,
  resolveCancellations,
  rowKeyOf,
} from "../journal/cancellations.ts";
import { insertStatementPeriod, recordStatementMapping } from "../journal/statements.ts";
import { StatementMapper } from "../mapping/statement.ts";
import { cancelledTradeFee } from "../mapping/trades.ts";
import { fromPayload } from "../domain/payload.ts";
import { journalCostBasis } from "./cost_basis.ts";

/** What mapping one document found. */
export interface MappingSummary {
  readonly statements: readonly {
    accountId: string;
    fromDate: string | null;
    toDate: string | null;
  }[];
  /** Activities by type that changed the journal (new, or re-mapped). */
  readonly journaled: Record<string, number>;
  /** Importable rows, each counted once by its outcome (a row may give several activities). */
  readonly outcomes: {
    readonly mapped: number;
    readonly skipped: number;
    readonly unchanged: number;
  };
  /** Rows already journaled with the same outcome, left as they were (= outcomes.unchanged). */
  readonly unchanged: number;
  /** Rows skipped now, by reason. */
  readonly skipped: Record<string, number>;
  /** Cancels, reversals and refunds resolved against their originals after this document. */
  readonly corrections: Resolution;
  readonly ignored: Record<string, number>;
  readonly rows: Record<string, number>;
}

export interface MapDocumentOptions {
  readonly db: DatabaseSync;
  readonly statementId: number;
  readonly origin: string;
  /** Accepted IBKR account ids; empty accepts any unmasked id. */
  readonly accounts: readonly string[];
  /** Where `accounts` came from, for the guard's message. */
  readonly accountsSource?: string | null;
  /** Whether to record each FlexStatement's period (first time a document is stored). */
  readonly recordPeriods: boolean;
  readonly runId: number;
  readonly now: string;
  /** Checked for each `<FlexStatement>` after the account guard (fetch: the window is covered). */
  readonly checkStatement?: (info: StatementInfo) => void;
}

/** A document being mapped: push its bytes, then `finish`. */
export class DocumentMapping {
  readonly #reader: FlexDocumentReader;
  readonly #options: MapDocumentOptions;
  readonly #writer: ActivityWriter;
  readonly #statements: { accountId: string; fromDate: string | null; toDate: string | null }[] =
    [];
  readonly #journaled: Record<string, number> = {};
  readonly #skipped: Record<string, number> = {};
  readonly #ignored: Record<string, number> = {};
  #mappedRows = 0;
  #skippedRows = 0;
  #unchanged = 0;

  constructor(options: MapDocumentOptions) {
    this.#options = options;
    const writer = new ActivityWriter(
      options.db,
      options.statementId,
      MAPPING_VERSION,
      options.now,
    );
    this.#writer = writer;
    const costBasis = journalCostBasis(options.db);
    const mapper = new StatementMapper({
      outcome: (outcome: RowOutcome) => {
        if (outcome.cancels) {
          const key = outcome.kind === "skipped"
            ? outcome.skipped.key
            : rowKeyOf(outcome.activities[0].key);
          const account = outcome.kind === "skipped"
            ? outcome.skipped.account
            : outcome.activities[0].account;
          recordCancellation(options.db, { ...outcome.cancels, key, account, now: options.now });
        }
        if (outcome.kind === "skipped") {
          if (writer.skipped(outcome.skipped)) {
            costBasis.removed(outcome.skipped.key);
            bump(this.#skipped, outcome.skipped.reason);
            this.#skippedRows++;
          } else {
            this.#unchanged++;
          }
          return;
        }
        let changed = false;
        for (const activity of outcome.activities) {
          if (writer.activity(activity)) {
            costBasis.written(activity);
            bump(this.#journaled, activity.activityType);
            changed = true;
          }
        }
        if (changed) this.#mappedRows++;
        else this.#unchanged++;
      },
      ignored: (reason: string) => bump(this.#ignored, reason),
    }, costBasis);
    this.#reader = new FlexDocumentReader(options.origin, {
      statementStart: (info: StatementInfo) => {
        this.#guard(info);
        options.checkStatement?.(info);
        this.#statements.push({
          accountId: info.accountId,
          fromDate: info.fromDate,
          toDate: info.toDate,
        });
        if (options.recordPeriods) {
          insertStatementPeriod(options.db, {
            statementId: options.statementId,
            ordinal: info.ordinal,
            accountId: info.accountId,
            fromDate: info.fromDate,
            toDate: info.toDate,
            period: info.period,
            whenGenerated: info.whenGenerated,
          });
        }
        mapper.statementStart(info);
      },
      row: (row, info) => mapper.row(row, info),
      sectionEnd: (section, info) => mapper.sectionEnd(section, info),
      statementEnd: (info) => mapper.statementEnd(info),
    });
  }

  write(chunk: Uint8Array): void {
    this.#reader.write(chunk);
  }

  /** Ends the document, records the mapping, and returns what it found. */
  finish(): { document: DocumentSummary; mapping: MappingSummary } {
    const document = this.#reader.close();
    if (document.statements === 0) {
      throw new FlexDocumentError(
        this.#options.origin,
        "contains no <FlexStatement>: nothing to import",
      );
    }
    // A cancelled trade's fee stays charged (domain costsSurvive): booked as the trade's `:fee`.
    const corrections = resolveCancellations(this.#options.db, this.#options.now, (original) => {
      const fee = cancelledTradeFee(fromPayload(original));
      if (fee && this.#writer.activity(fee)) bump(this.#journaled, fee.activityType);
    });
    const mapping: MappingSummary = {
      statements: this.#statements,
      journaled: this.#journaled,
      outcomes: {
        mapped: this.#mappedRows,
        skipped: this.#skippedRows,
        unchanged: this.#unchanged,
      },
      unchanged: this.#unchanged,
      skipped: this.#skipped,
      corrections,
      ignored: { ...this.#ignored, ...document.ignored },
      rows: document.rows,
    };
    recordStatementMapping(this.#options.db, {
      statementId: this.#options.statementId,
      mappingVersion: MAPPING_VERSION,
      mappedAt: this.#options.now,
      runId: this.#options.runId,
      summary: mapping,
    });
    return { document, mapping };
  }

  #guard(info: StatementInfo): void {
    const accounts = this.#options.accounts;
    if (
      isMaskedAccount(info.accountId) || (accounts.length > 0 && !accounts.includes(info.accountId))
    ) {
      throw new AccountGuardError(
        this.#options.origin,
        info.accountId,
        accounts,
        this.#options.accountsSource ?? undefined,
      );
    }
  }
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
