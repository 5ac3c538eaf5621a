/**
 * What mapping a document decides, in document order, as plain data: the seam between the
 * reader and mapper (pure, CPU-bound) and the journal (SQLite). The same events flow either by
 * direct calls or, for a large document, from a worker thread (map_worker.ts).
 *
 * The mapper also asks the journal what positions cost (corporate actions, transfers). Those
 * questions travel the same way and are answered by the journal's side as of every outcome
 * before them, so a cost never depends on which thread mapped the document.
 */
import type { Activity, Cancellation, RowOutcome } from "../domain/activity.ts";
import { FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { rowKeyOf } from "../journal/cancellations.ts";
import { activityEntry, type JournalEntry, skippedEntry } from "../journal/activities.ts";
import {
  type CostBasisSource,
  heldPosition,
  type InstrumentRef,
  type PositionQuery,
} from "../mapping/cost_basis.ts";
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

/** The journal's positions as of the outcomes received so far (app/cost_basis.ts). */
export interface JournalPositions {
  /** These instruments' positions will be asked about next. */
  prefetch(instruments: readonly InstrumentRef[]): void;
  /** The standing activities the query counts, oldest first. */
  standing(query: PositionQuery): Activity[];
}

/** Receives a document's mapping, in document order, and answers its cost questions. */
export interface MappingEvents extends JournalPositions {
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
  }, costBasisOf(events));
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

/** The mapper's cost-basis source: FIFO over what the journal's side says stands. */
function costBasisOf(positions: JournalPositions): CostBasisSource {
  return {
    prefetch: (instruments) => {
      if (instruments.length > 0) positions.prefetch(instruments);
    },
    position: (query) => heldPosition(positions.standing(query)),
  };
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
