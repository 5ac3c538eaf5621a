/**
 * What mapping a document decides, in document order, as plain data: the seam between the
 * reader and mapper (pure, CPU-bound) and the journal (SQLite). The same events flow either by
 * direct calls or, for a large document, from a worker thread (map_worker.ts).
 */
import type { Cancellation, RowOutcome } from "../domain/activity.ts";
import { FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { rowKeyOf } from "../journal/cancellations.ts";
import { activityEntry, type JournalEntry, skippedEntry } from "../journal/activities.ts";
import { StatementMapper } from "../mapping/statement.ts";

/** A correction row's record of what it undoes, keyed by its own row. */
export interface CancellationRecord extends Cancellation {
  readonly key: string;
  readonly account: string;
}

/** One importable row's outcome, ready for the journal. */
export interface JournalOutcome {
  readonly kind: "activities" | "skipped";
  readonly entries: readonly JournalEntry[];
  readonly cancels: CancellationRecord | null;
}

/** Receives a document's mapping, in document order. */
export interface MappingEvents {
  /** A `<FlexStatement>` begins (before any of its rows). */
  statementStart(info: StatementInfo): void;
  outcome(outcome: JournalOutcome): void;
  /** A row read and left alone by design, by reason. */
  ignored(reason: string): void;
}

/** A reader whose rows are mapped and reported to `events`; push bytes, then close it. */
export function mappingReader(origin: string, events: MappingEvents): FlexDocumentReader {
  const mapper = new StatementMapper({
    outcome: (outcome) => events.outcome(journalOutcome(outcome)),
    ignored: (reason) => events.ignored(reason),
  });
  return new FlexDocumentReader(origin, {
    statementStart: (info) => {
      events.statementStart(info);
      mapper.statementStart(info);
    },
    row: (row, info) => mapper.row(row, info),
    sectionEnd: (section, info) => mapper.sectionEnd(section, info),
    statementEnd: (info) => mapper.statementEnd(info),
  });
}

function journalOutcome(outcome: RowOutcome): JournalOutcome {
  if (outcome.kind === "skipped") {
    const s = outcome.skipped;
    return {
      kind: "skipped",
      entries: [skippedEntry(s)],
      cancels: outcome.cancels ? { ...outcome.cancels, key: s.key, account: s.account } : null,
    };
  }
  const first = outcome.activities[0];
  return {
    kind: "activities",
    entries: outcome.activities.map(activityEntry),
    cancels: outcome.cancels
      ? { ...outcome.cancels, key: rowKeyOf(first.key), account: first.account }
      : null,
  };
}
