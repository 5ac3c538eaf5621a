/**
 * Mapping events as lines of text, for the trip from the worker thread to the journal's thread:
 * one string per batch instead of thousands of structured-cloned objects.
 *
 * Each line starts with its kind. `S` statement start, `O` an outcome (its entries' fields;
 * each entry's payload follows on a line of its own, verbatim, so the JSON is never escaped
 * twice), `I` ignored, `P` instruments to prefetch, `Q` a position query, then `D` the document
 * summary or `X` the error that ended the document. JSON.stringify never writes a raw newline, so
 * a newline always ends a line.
 *
 * A `Q` line is a question: the writer hands everything up to it to `exchange`, which returns the
 * reader's answer (the journal's thread, replaying the line in order): a line with the number of
 * activities, then each one's payload on a line of its own.
 */
import type { Activity } from "../domain/activity.ts";
import { fromPayload, toPayload } from "../domain/payload.ts";
import type { DocumentSummary, StatementInfo } from "../flex/reader.ts";
import { FlexDocumentError, FlexErrorResponse, FlexRowError } from "../flex/errors.ts";
import type { JournalEntry } from "../journal/activities.ts";
import type { InstrumentRef, PositionQuery } from "../mapping/cost_basis.ts";
import type { CancellationRecord, JournalOutcome, MappingEvents } from "./mapping_events.ts";

type EntryFields = [
  key: string,
  account: string,
  activityType: string | null,
  businessDate: string | null,
  symbol: string | null,
  state: JournalEntry["state"],
  reason: string | null,
  matchKey: string | null,
];
type OutcomeLine = [JournalOutcome["kind"], CancellationRecord | null, EntryFields[]];

/**
 * Sends the lines written so far, ending with a question, and returns the other side's answer
 * (blocking until it comes).
 */
export type Exchange = (lines: string) => string;

/** Writes events as lines; `take` hands over what has accumulated. */
export class MappingLineWriter implements MappingEvents {
  readonly #exchange: Exchange;
  #text = "";

  /** `exchange` carries the position questions; without one, asking is a bug. */
  constructor(exchange: Exchange = () => {
    throw new Error("these mapping lines have nobody to answer a position query");
  }) {
    this.#exchange = exchange;
  }

  /** Characters waiting to be taken. */
  get length(): number {
    return this.#text.length;
  }

  /** The lines written since the last take. */
  take(): string {
    const text = this.#text;
    this.#text = "";
    return text;
  }

  statementStart(info: StatementInfo): void {
    this.#text += `S${JSON.stringify(info)}\n`;
  }

  outcome(o: JournalOutcome): void {
    const line: OutcomeLine = [
      o.kind,
      o.cancels,
      o.entries.map((e) => [
        e.key,
        e.account,
        e.activityType,
        e.businessDate,
        e.symbol,
        e.state,
        e.reason,
        e.matchKey,
      ]),
    ];
    let text = `O${JSON.stringify(line)}\n`;
    for (const e of o.entries) text += `${e.payload}\n`;
    this.#text += text;
  }

  ignored(reason: string): void {
    this.#text += `I${JSON.stringify(reason)}\n`;
  }

  prefetch(instruments: readonly InstrumentRef[]): void {
    this.#text += `P${JSON.stringify(instruments)}\n`;
  }

  standing(query: PositionQuery): Activity[] {
    this.#text += `Q${JSON.stringify(query)}\n`;
    const lines = this.#exchange(this.take()).split("\n");
    const count = Number(lines[0]);
    if (!Number.isInteger(count) || lines.length !== count + 2 || lines[count + 1] !== "") {
      throw new Error(`malformed answer to a position query: ${JSON.stringify(lines[0])}`);
    }
    return lines.slice(1, count + 1).map((line) => fromPayload(JSON.parse(line)));
  }

  /** The document was read to its end. */
  done(summary: DocumentSummary): void {
    this.#text += `D${JSON.stringify(summary)}\n`;
  }

  /** The document was refused (or reading it failed): the error, to be thrown on the other side. */
  failed(error: unknown): void {
    this.#text += `X${JSON.stringify(errorLine(error))}\n`;
  }
}

/**
 * Replays lines into `events`; the document's end sets `summary` or throws its error. A question
 * is answered through `answer` (the whole answer, once per `Q` line).
 */
export class MappingLineReader {
  readonly #events: MappingEvents;
  readonly #answer: (text: string) => void;
  #partial = "";
  // An outcome whose payload lines are still to come.
  #outcome: { line: OutcomeLine; payloads: string[] } | null = null;
  #summary: DocumentSummary | null = null;

  constructor(events: MappingEvents, answer: (text: string) => void) {
    this.#events = events;
    this.#answer = answer;
  }

  /** The document's summary once its `D` line has been read. */
  get summary(): DocumentSummary | null {
    return this.#summary;
  }

  /** Feeds text (any split; a line may span calls). */
  push(text: string): void {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    const pending = this.#outcome;
    if (pending) {
      pending.payloads.push(line);
      if (pending.payloads.length === pending.line[2].length) {
        this.#outcome = null;
        this.#emitOutcome(pending.line, pending.payloads);
      }
      return;
    }
    const body = line.slice(1);
    switch (line[0]) {
      case "S":
        this.#events.statementStart(JSON.parse(body));
        return;
      case "O": {
        const parsed = JSON.parse(body) as OutcomeLine;
        if (parsed[2].length === 0) this.#emitOutcome(parsed, []);
        else this.#outcome = { line: parsed, payloads: [] };
        return;
      }
      case "I":
        this.#events.ignored(JSON.parse(body));
        return;
      case "P":
        this.#events.prefetch(JSON.parse(body));
        return;
      case "Q":
        this.#answer(answerText(this.#events.standing(JSON.parse(body))));
        return;
      case "D":
        this.#summary = JSON.parse(body);
        return;
      case "X":
        throw errorFromLine(JSON.parse(body));
      default:
        throw new Error(`mapping line of unknown kind: ${JSON.stringify(line.slice(0, 40))}`);
    }
  }

  #emitOutcome([kind, cancels, fields]: OutcomeLine, payloads: readonly string[]): void {
    this.#events.outcome({
      kind,
      cancels,
      entries: fields.map((
        [key, account, activityType, businessDate, symbol, state, reason, matchKey],
        i,
      ) => ({
        key,
        account,
        activityType,
        businessDate,
        symbol,
        payload: payloads[i],
        state,
        reason,
        matchKey,
      })),
    });
  }
}

/** The answer to a position query, as `MappingLineWriter.standing` reads it. */
export function answerText(activities: readonly Activity[]): string {
  let text = `${activities.length}\n`;
  for (const a of activities) text += `${JSON.stringify(toPayload(a))}\n`;
  return text;
}

// Errors cross as their class and constructor arguments, so the journal's thread throws the same
// typed error (and the CLI gives the same line and exit code) as if it had read the document.
type ErrorLine =
  | { type: "FlexDocumentError"; args: [string, string, number | null, number | null] }
  | { type: "FlexErrorResponse"; args: [string, string, string | null, string | null] }
  | {
    type: "FlexRowError";
    args: [string, string, string | null, string, string | null, string];
  }
  | { type: "Error"; name: string; message: string; stack: string | null };

function errorLine(e: unknown): ErrorLine {
  if (e instanceof FlexDocumentError) {
    return {
      type: "FlexDocumentError",
      args: [e.origin, e.detail, e.line ?? null, e.column ?? null],
    };
  }
  if (e instanceof FlexErrorResponse) {
    return { type: "FlexErrorResponse", args: [e.origin, e.status, e.code, e.ibkrMessage] };
  }
  if (e instanceof FlexRowError) {
    return {
      type: "FlexRowError",
      args: [e.origin, e.section, e.transactionId, e.attribute, e.value, e.problem],
    };
  }
  const error = e instanceof Error ? e : new Error(String(e));
  return { type: "Error", name: error.name, message: error.message, stack: error.stack ?? null };
}

function errorFromLine(line: ErrorLine): Error {
  switch (line.type) {
    case "FlexDocumentError": {
      const [origin, detail, l, column] = line.args;
      return new FlexDocumentError(origin, detail, l ?? undefined, column ?? undefined);
    }
    case "FlexErrorResponse":
      return new FlexErrorResponse(...line.args);
    case "FlexRowError":
      return new FlexRowError(...line.args);
    default: {
      const error = new Error(line.message);
      error.name = line.name;
      if (line.stack) error.stack = line.stack;
      return error;
    }
  }
}
