/**
 * Mapping events as lines of text (the worker's way back to the journal): whatever the text,
 * however the lines are cut into pieces, the journal's side replays exactly the events the
 * mapper decided, and a refused document throws the same typed error, with the same message,
 * as reading it in the journal's own thread.
 */
import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import type { JournalOutcome, MappingEvents } from "../../src/app/mapping_events.ts";
import { MappingLineReader, MappingLineWriter } from "../../src/app/mapping_lines.ts";
import {
  AccountGuardError,
  FlexDocumentError,
  FlexErrorResponse,
  FlexRowError,
} from "../../src/flex/errors.ts";
import type { DocumentSummary, StatementInfo } from "../../src/flex/reader.ts";
import type { Activity } from "../../src/domain/activity.ts";
import { toPayload } from "../../src/domain/payload.ts";
import type { InstrumentRef, PositionQuery } from "../../src/mapping/cost_basis.ts";

type Event =
  | { statementStart: StatementInfo }
  | { outcome: JournalOutcome }
  | { ignored: string }
  | { prefetch: readonly InstrumentRef[] }
  | { standing: PositionQuery };

/** Records events; a position query is answered with `held`. */
function recorder(held: Activity[] = []): MappingEvents & { events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    statementStart: (info) => events.push({ statementStart: info }),
    outcome: (outcome) => events.push({ outcome }),
    ignored: (reason) => events.push({ ignored: reason }),
    prefetch: (instruments) => events.push({ prefetch: instruments }),
    standing: (query) => {
      events.push({ standing: query });
      return held;
    },
  };
}

const noQuestions = () => assert.fail("no question was asked");

const INFO: StatementInfo = {
  origin: "/statements/2025 «Q1».xml",
  ordinal: 0,
  accountId: "U1234567",
  fromDate: "2025-01-01",
  toDate: "2025-03-31",
  period: null,
  whenGenerated: "20250401;101500",
  dayOrder: "month-first",
};

// Text an attribute can carry: character references give real newlines and quotes; U+2028
// is a line separator to some, but not to JSON.
const AWKWARD = 'a "quoted"\nline\\with\ttab \u2028 and \u00e9\u{1D11E}';

const BUY: JournalOutcome = {
  kind: "activities",
  cancels: null,
  entries: [
    {
      key: "ibkr:U1234567:1",
      account: "U1234567",
      activityType: "BUY",
      businessDate: "2025-01-02",
      symbol: "BRK-B",
      payload: JSON.stringify({ key: "ibkr:U1234567:1", notes: AWKWARD }),
      state: "pending",
      reason: null,
      matchKey: "trade:7",
    },
    {
      key: "ibkr:U1234567:1:commission",
      account: "U1234567",
      activityType: "FEE",
      businessDate: "2025-01-02",
      symbol: null,
      payload: "{}",
      state: "pending",
      reason: null,
      matchKey: null,
    },
  ],
};

const SKIPPED_CANCEL: JournalOutcome = {
  kind: "skipped",
  cancels: {
    mode: "reverse",
    targetKey: "ibkr:U1234567:1",
    targetMatch: null,
    reason: "trade-cancel",
    key: "ibkr:U1234567:2",
    account: "U1234567",
  },
  entries: [{
    key: "ibkr:U1234567:2",
    account: "U1234567",
    activityType: null,
    businessDate: null,
    symbol: null,
    payload: JSON.stringify({ skipped: { description: AWKWARD } }),
    state: "skipped",
    reason: `unknown-cash-type:${AWKWARD}`,
    matchKey: null,
  }],
};

const SUMMARY: DocumentSummary = {
  queryName: "All «trades»",
  type: "AF",
  statements: 1,
  bytes: 1234,
  rows: { Trade: 2 },
  ignored: { "trade-aggregate:Order": 1 },
};

function written(): string {
  const w = new MappingLineWriter();
  w.statementStart(INFO);
  w.outcome(BUY);
  w.ignored(`trade-level:${AWKWARD}`);
  w.outcome(SKIPPED_CANCEL);
  w.outcome({ kind: "activities", cancels: null, entries: [] });
  w.done(SUMMARY);
  return w.take();
}

Deno.test("events come back exactly as written, however the text is cut", () => {
  const text = written();
  const expected: Event[] = [
    { statementStart: INFO },
    { outcome: BUY },
    { ignored: `trade-level:${AWKWARD}` },
    { outcome: SKIPPED_CANCEL },
    { outcome: { kind: "activities", cancels: null, entries: [] } },
  ];
  for (const piece of [1, 2, 3, 7, 64, text.length]) {
    const r = recorder();
    const reader = new MappingLineReader(r, noQuestions);
    for (let at = 0; at < text.length; at += piece) {
      assert.equal(reader.summary, null, "no summary before the end");
      reader.push(text.slice(at, at + piece));
    }
    assert.deepEqual(r.events, expected, `pieces of ${piece}`);
    assert.deepEqual(reader.summary, SUMMARY);
  }
});

Deno.test("take hands over what was written once", () => {
  const w = new MappingLineWriter();
  w.ignored("reference:OpenPosition");
  assert.ok(w.length > 0);
  const first = w.take();
  assert.equal(w.length, 0);
  assert.equal(w.take(), "");
  const r = recorder();
  new MappingLineReader(r, noQuestions).push(first);
  assert.deepEqual(r.events, [{ ignored: "reference:OpenPosition" }]);
});

function rethrown(error: unknown): unknown {
  const w = new MappingLineWriter();
  w.ignored("before the error");
  w.failed(error);
  const r = recorder();
  try {
    new MappingLineReader(r, noQuestions).push(w.take());
  } catch (e) {
    // What came before the error was replayed first.
    assert.deepEqual(r.events, [{ ignored: "before the error" }]);
    return e;
  }
  assert.fail("the error line did not throw");
}

Deno.test("a refused document throws the same typed error on the journal's side", () => {
  const errors: Error[] = [
    new FlexDocumentError("/s/a.xml", "is not well-formed XML: unclosed tag: Trades", 12, 3),
    new FlexDocumentError("/s/a.xml", "is empty: no Flex statement in it"),
    new FlexErrorResponse("/s/a.xml", "Fail", "1012", "Token has expired."),
    new FlexErrorResponse("/s/a.xml", "Warn", null, null),
    new FlexRowError("/s/a.xml", "Trades", "42", "tradeDate", "2025-13-45", "is not a date"),
    new FlexRowError("/s/a.xml", "CashTransactions", null, "dateTime", null, "is required"),
  ];
  for (const error of errors) {
    const back = rethrown(error) as Error;
    assert.equal(back.constructor, error.constructor);
    assert.equal(back.message, error.message);
    assert.deepEqual({ ...back }, { ...error }, `fields of ${error.message}`);
  }
});

Deno.test("any other error keeps its name, message and the worker's stack", () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'key')");
  const back = rethrown(bug) as Error;
  assert.equal(back.name, "TypeError");
  assert.equal(back.message, bug.message);
  assert.equal(back.stack, bug.stack);
  // Not mistaken for a refused document: the CLI reports it as an internal error.
  assert.ok(!(back instanceof FlexDocumentError) && !(back instanceof AccountGuardError));
  assert.equal((rethrown("a thrown string") as Error).message, "a thrown string");
});

function heldActivity(key: string, quantity: string, notes: string | null): Activity {
  return {
    key,
    account: "U1234567",
    activityType: "BUY",
    subtype: null,
    date: "2025-01-02T15:30:00-05:00",
    symbol: "BRK-B",
    exchangeMic: "XNYS",
    instrumentType: "EQUITY",
    name: notes,
    isin: "US0846707026",
    conid: "72063691",
    quantity: new Decimal(quantity),
    unitPrice: new Decimal("412.123456789012345678"),
    amount: null,
    fee: new Decimal("-0.35"),
    currency: "USD",
    notes,
    groupKey: null,
    sourceRecordId: "1",
    metadata: { flow: { is_external: false } },
    matchKey: "trade:7",
  };
}

Deno.test("a position query is answered in order, after every event before it, with the activities as they stand", () => {
  const held = [
    heldActivity("ibkr:U1234567:1", "10", AWKWARD),
    heldActivity("ibkr:U1234567:3", "0.000000000001", null),
  ];
  const query: PositionQuery = {
    account: "U1234567",
    conid: "72063691",
    through: "2025-03-31",
    inclusive: true,
    before: "2025-03-31T20:00:00Z",
    excludeGroup: "ibkr:U1234567:ca:9",
  };
  for (const answer of [held, []]) {
    const r = recorder(answer);
    const questions: string[] = [];
    let replied: string | null = null;
    const reader = new MappingLineReader(r, (text) => {
      assert.equal(replied, null, "one answer per question");
      replied = text;
    });
    // The pipe between the threads: the question and what came before it, in awkward pieces.
    const w = new MappingLineWriter((text) => {
      questions.push(text);
      for (let at = 0; at < text.length; at += 5) reader.push(text.slice(at, at + 5));
      const answered = replied;
      replied = null;
      return answered ?? assert.fail("the question was not answered");
    });
    w.outcome(BUY);
    w.prefetch([{ account: "U1234567", conid: "72063691" }]);
    const got = w.standing(query);
    assert.deepEqual(got.map(toPayload), answer.map(toPayload));
    assert.ok(got.every((a) => a.quantity instanceof Decimal));
    assert.deepEqual(r.events, [
      { outcome: BUY },
      { prefetch: [{ account: "U1234567", conid: "72063691" }] },
      { standing: query },
    ]);
    assert.equal(questions.length, 1);
    assert.equal(w.length, 0, "everything up to the question went with it");
    w.ignored("after");
    w.done(SUMMARY);
    reader.push(w.take());
    assert.deepEqual(r.events.at(-1), { ignored: "after" });
    assert.deepEqual(reader.summary, SUMMARY);
  }
});

Deno.test("lines without anybody to answer refuse a position query rather than guess", () => {
  const w = new MappingLineWriter();
  assert.throws(
    () => w.standing({ account: "U1", conid: "1", through: "2025-01-01", inclusive: false }),
    /nobody to answer/,
  );
});
