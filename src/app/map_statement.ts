/**
 * Maps one stored or arriving document into the journal: the reader and mapper (in this thread,
 * or on a worker for a large document) and the journal side — account guard, statement periods,
 * activity writer, cost basis, cancellations — wired together. Called inside the caller's
 * transaction.
 */
import type { DatabaseSync } from "node:sqlite";
import { type Activity, MAPPING_VERSION } from "../domain/activity.ts";
import { fromPayload } from "../domain/payload.ts";
import { AccountGuardError, FlexDocumentError, isMaskedAccount } from "../flex/errors.ts";
import type { DocumentSummary, StatementInfo } from "../flex/reader.ts";
import { ActivityWriter } from "../journal/activities.ts";
import {
  recordCancellation,
  type Resolution,
  resolveCancellations,
} from "../journal/cancellations.ts";
import {
  hasStatementPeriods,
  insertStatementPeriod,
  recordStatementMapping,
  setStatementQueryName,
  statementBytes,
} from "../journal/statements.ts";
import type { InstrumentRef, PositionQuery } from "../mapping/cost_basis.ts";
import { cancelledTradeFee } from "../mapping/trades.ts";
import { type JournalCostBasis, journalCostBasis } from "./cost_basis.ts";
import { type JournalOutcome, type MappingEvents, mappingReader } from "./mapping_events.ts";
import { MappingThread } from "./mapping_thread.ts";

/**
 * Documents this large are read and mapped on a worker thread while this one writes the journal
 * (docs/benchmarks.md); below it, starting a thread costs more than it saves.
 */
export const WORKER_FROM_BYTES = 8 << 20;

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
  /** The document's size when known; from WORKER_FROM_BYTES on it is read on a worker thread. */
  readonly bytes?: number;
  /** Read on a worker thread (true) or this one (false) whatever the size. */
  readonly onWorker?: boolean;
}

/** The reader of this thread, or its stand-in for a worker thread (MappingThread). */
interface DocumentReader extends Partial<Disposable> {
  write(chunk: Uint8Array): void;
  close(): DocumentSummary;
}

/** A document being mapped: push its bytes, then `finish`; dispose of it if giving up early. */
export class DocumentMapping implements Disposable {
  readonly #options: MapDocumentOptions;
  readonly #journal: JournalSide;
  readonly #reader: DocumentReader;

  constructor(options: MapDocumentOptions) {
    this.#options = options;
    this.#journal = new JournalSide(options);
    this.#reader = (options.onWorker ?? (options.bytes ?? 0) >= WORKER_FROM_BYTES)
      ? new MappingThread(options.origin, this.#journal)
      : mappingReader(options.origin, this.#journal);
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
    const journal = this.#journal;
    journal.flush();
    // A cancelled trade's fee stays charged (domain costsSurvive): booked as the trade's `:fee`.
    const corrections = resolveCancellations(
      this.#options.db,
      this.#options.now,
      (original) => journal.cancelledTradeFee(fromPayload(original)),
    );
    const mapping: MappingSummary = {
      statements: journal.statements,
      journaled: journal.journaledByType,
      outcomes: {
        mapped: journal.mappedRows,
        skipped: journal.skippedRows,
        unchanged: journal.unchanged,
      },
      unchanged: journal.unchanged,
      skipped: journal.skippedByReason,
      corrections,
      ignored: { ...journal.ignoredByReason, ...document.ignored },
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

  [Symbol.dispose](): void {
    this.#reader[Symbol.dispose]?.();
  }
}

/**
 * The journal's side of the mapping events, with the counts the summary reports, and the
 * journal's answers to the mapper's cost questions.
 */
class JournalSide implements MappingEvents {
  readonly #options: MapDocumentOptions;
  readonly #writer: ActivityWriter;
  /** Told of every activity this document changes, so later questions see it. */
  readonly #costBasis: JournalCostBasis;
  readonly statements: { accountId: string; fromDate: string | null; toDate: string | null }[] = [];
  readonly journaledByType: Record<string, number> = {};
  readonly skippedByReason: Record<string, number> = {};
  readonly ignoredByReason: Record<string, number> = {};
  mappedRows = 0;
  skippedRows = 0;
  unchanged = 0;

  constructor(options: MapDocumentOptions) {
    this.#options = options;
    this.#writer = new ActivityWriter(
      options.db,
      options.statementId,
      MAPPING_VERSION,
      options.now,
    );
    this.#costBasis = journalCostBasis(options.db);
  }

  statementStart(info: StatementInfo): void {
    this.#guard(info);
    this.#options.checkStatement?.(info);
    this.statements.push({
      accountId: info.accountId,
      fromDate: info.fromDate,
      toDate: info.toDate,
    });
    const options = this.#options;
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
  }

  outcome(outcome: JournalOutcome): void {
    if (outcome.cancels) {
      recordCancellation(this.#options.db, { ...outcome.cancels, now: this.#options.now });
    }
    this.#writer.queue(outcome.entries, (changed) => this.#count(outcome, changed));
  }

  /** Journals what is still queued; the counts are final after this. */
  flush(): void {
    this.#writer.flush();
  }

  // Questions are answered once every outcome before them is in the journal (and so told to the
  // cost basis): what an earlier action of this document brought in counts.
  prefetch(instruments: readonly InstrumentRef[]): void {
    this.flush();
    this.#costBasis.prefetch(instruments);
  }

  standing(query: PositionQuery): Activity[] {
    this.flush();
    return this.#costBasis.standing(query);
  }

  /** Books the fee a cancelled trade leaves charged, if any (after `flush`). */
  cancelledTradeFee(original: Activity): void {
    const fee = cancelledTradeFee(original);
    if (fee && this.#writer.activity(fee)) bump(this.journaledByType, fee.activityType);
  }

  #count(outcome: JournalOutcome, changed: readonly boolean[]): void {
    if (outcome.kind === "skipped") {
      if (changed[0]) {
        this.#costBasis.removed(outcome.entries[0].key);
        bump(this.skippedByReason, outcome.entries[0].reason!);
        this.skippedRows++;
      } else {
        this.unchanged++;
      }
      return;
    }
    outcome.entries.forEach((entry, i) => {
      if (!changed[i]) return;
      // Read back only once the cost basis holds any position (a statement's moves asked).
      if (this.#costBasis.holdsAny) this.#costBasis.written(fromPayload(JSON.parse(entry.payload)));
      bump(this.journaledByType, entry.activityType!);
    });
    if (changed.includes(true)) this.mappedRows++;
    else this.unchanged++;
  }

  ignored(reason: string): void {
    bump(this.ignoredByReason, reason);
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

/**
 * Maps a statement the journal already holds again, from its own bytes, inside the caller's
 * transaction (same bytes offered again, a re-map after an upgrade, a download mapped after a
 * crash). Its periods are recorded only if it has none yet (a statement refused earlier).
 */
export function mapStoredDocument(
  options: Omit<MapDocumentOptions, "recordPeriods">,
): MappingSummary {
  const { db, statementId } = options;
  using mapping = new DocumentMapping({
    ...options,
    recordPeriods: !hasStatementPeriods(db, statementId),
  });
  for (const chunk of statementBytes(db, statementId)) mapping.write(chunk);
  const { document, mapping: summary } = mapping.finish();
  setStatementQueryName(db, statementId, document.queryName);
  return summary;
}

/** What several mappings journaled and skipped, added up (a run's counts). */
export function mappingTotals(
  summaries: Iterable<MappingSummary | null>,
): { journaled: Record<string, number>; skipped: Record<string, number>; unchanged: number } {
  const journaled: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  let unchanged = 0;
  for (const m of summaries) {
    if (!m) continue;
    for (const [k, n] of Object.entries(m.journaled)) journaled[k] = (journaled[k] ?? 0) + n;
    for (const [k, n] of Object.entries(m.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
    unchanged += m.unchanged;
  }
  return { journaled, skipped, unchanged };
}
