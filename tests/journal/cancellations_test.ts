/**
 * The journal side of corrections: cancellations recorded next to real journal rows (a real
 * SQLite journal opened by openJournal), then resolved against their originals.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import {
  type Activity,
  type ActivityType,
  type Cancellation,
  MAPPING_VERSION,
} from "../../src/domain/activity.ts";
import { ActivityWriter } from "../../src/journal/activities.ts";
import {
  isCostLeg,
  recordCancellation,
  resolveCancellations,
  ROW_LEGS,
  rowKeyOf,
} from "../../src/journal/cancellations.ts";
import { journalPath, openJournal } from "../../src/journal/db.ts";
import { insertStatement } from "../../src/journal/statements.ts";

const NOW = "2026-01-02T06:00:00Z";
const LATER = "2026-02-02T06:00:00Z";
const K = (id: string) => `ibkr:U1:${id}`;

/** Runs `work` with a fresh journal in a temporary data dir, removed afterwards. */
async function withJournal(work: (db: DatabaseSync) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-cancellations-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    await work(db);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

let statements = 0;
/** A stored statement to hang rows on (each call a new one, as each file would be). */
function writer(db: DatabaseSync, now = NOW): ActivityWriter {
  const id = insertStatement(db, {
    sha256: (++statements).toString(16).padStart(64, "0"),
    source: "file",
    origin: `statements/${statements}.xml`,
    byteSize: 0,
    receivedAt: now,
  });
  return new ActivityWriter(db, id, MAPPING_VERSION, now);
}

/** A cash-shaped activity; trades and FX legs differ only in fields resolution never reads. */
function activity(
  key: string,
  activityType: ActivityType,
  over: Partial<Activity> & { day?: string } = {},
): Activity {
  const { day = "2025-02-13", ...rest } = over;
  return {
    key,
    account: "U1",
    activityType,
    subtype: null,
    date: `${day}T23:59:59Z`,
    symbol: null,
    exchangeMic: null,
    instrumentType: null,
    name: null,
    isin: null,
    conid: "265598",
    quantity: null,
    unitPrice: null,
    amount: new Decimal("2.5"),
    fee: null,
    currency: "USD",
    notes: null,
    groupKey: null,
    sourceRecordId: key.slice(5),
    metadata: null,
    matchKey: null,
    ...rest,
  };
}

/** Journals a cancelling row that is only an undo (skipped) and records what it cancels. */
function cancelRow(
  db: DatabaseSync,
  w: ActivityWriter,
  key: string,
  cancels: Omit<Cancellation, "mode"> & { mode?: Cancellation["mode"] },
  account = "U1",
): void {
  recordCancellation(db, { mode: "reverse", ...cancels, key, account, now: NOW });
  w.skipped({
    key,
    account,
    date: "2025-04-02",
    reason: `cancellation:${cancels.reason}`,
    summary: { section: "CashTransactions" },
  });
}

interface Row {
  key: string;
  state: string;
  reason: string | null;
  cancelled_by: string | null;
  match_key: string | null;
}

function row(db: DatabaseSync, key: string): Row {
  const r = db.prepare(
    "SELECT key, state, reason, cancelled_by, match_key FROM activities WHERE key = ?",
  ).get(key) as Row | undefined;
  assert.ok(r, `${key} is journaled`);
  return { ...r };
}

function states(db: DatabaseSync): Record<string, string> {
  return Object.fromEntries(
    (db.prepare("SELECT key, state FROM activities ORDER BY key").all() as {
      key: string;
      state: string;
    }[]).map((r) => [r.key, r.state]),
  );
}

function cancellation(db: DatabaseSync, key: string) {
  return {
    ...(db.prepare(
      "SELECT state, resolved_key, outcome FROM cancellations WHERE key = ?",
    ).get(key) as { state: string; resolved_key: string | null; outcome: string | null }),
  };
}

function corrections(db: DatabaseSync) {
  return (db.prepare(
    "SELECT target_key, action, cancel_key, reason, state FROM corrections ORDER BY id",
  ).all() as Record<string, unknown>[]).map((r) => ({ ...r }));
}

function push(db: DatabaseSync, ...keys: string[]): void {
  for (const key of keys) {
    db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(key);
  }
}

const DIVIDEND_MATCH = "action:141000001:DIVIDEND:USD:2.5";
const TAX_MATCH = "action:141000001:TAX:USD:0.38";

// ---- keys --------------------------------------------------------------------------------------

Deno.test("rowKeyOf strips a leg (commission, rebate, out, in, tax, fee) but keeps :cash, which is another row", () => {
  for (const leg of ROW_LEGS) assert.equal(rowKeyOf(K(`100:${leg}`)), K("100"), leg);
  assert.equal(rowKeyOf(K("100")), K("100"));
  assert.equal(rowKeyOf(K("100:cash")), K("100:cash"));
  assert.equal(
    rowKeyOf(K("cash:2025-02-13:Dividends:141000001:USD:2.5")),
    K(
      "cash:2025-02-13:Dividends:141000001:USD:2.5",
    ),
  );
});

Deno.test("a trade's commission, rebate, tax and fee legs are costs that outlive its cancel; an action's :proceeds is its cash, an FX leg its trade", () => {
  for (const leg of ["commission", "rebate", "tax", "fee"]) {
    assert.equal(isCostLeg(K(`100:${leg}`)), true, leg);
  }
  for (const leg of ["proceeds", "out", "in", "cash"]) {
    assert.equal(isCostLeg(K(`100:${leg}`)), false, leg);
  }
  assert.equal(isCostLeg(K("100")), false);
});

// ---- reverse -----------------------------------------------------------------------------------

Deno.test("a trade cancel by targetKey supersedes the original's trade legs, leaves its cost legs (commission, rebate, tax) standing, and not a :cash row of the same id", () =>
  withJournal((db) => {
    const w = writer(db);
    // An FX conversion's legs, a bond trade's accrued interest sharing its transactionID, and a
    // row whose key merely starts with the same digits.
    for (
      const [leg, type] of [["out", "TRANSFER_OUT"], ["in", "TRANSFER_IN"], ["commission", "FEE"], [
        "tax",
        "FEE",
      ]] as const
    ) {
      w.activity(activity(K(`100:${leg}`), type, { matchKey: "trade:7001" }));
    }
    w.activity(activity(K("100:cash"), "FEE"));
    w.activity(activity(K("1001"), "DEPOSIT"));
    // A trade with its own key and a commission leg.
    w.activity(activity(K("300"), "BUY", { matchKey: "trade:7003" }));
    w.activity(activity(K("300:commission"), "FEE"));
    w.activity(activity(K("300:rebate"), "CREDIT"));

    cancelRow(db, w, K("200"), { targetKey: K("100"), targetMatch: null, reason: "trade-cancel" });
    cancelRow(db, w, K("400"), { targetKey: K("300"), targetMatch: null, reason: "trade-cancel" });
    const kept: string[] = [];
    const result = resolveCancellations(db, NOW, (original) => kept.push(original.key));

    assert.deepEqual(result, { resolved: 2, superseded: 3, corrections: 0, open: 0 });
    for (const leg of ["out", "in"]) {
      assert.deepEqual(row(db, K(`100:${leg}`)), {
        key: K(`100:${leg}`),
        state: "superseded",
        reason: `cancelled-by:${K("200")}`,
        cancelled_by: K("200"),
        match_key: "trade:7001",
      });
    }
    assert.equal(row(db, K("300")).state, "superseded");
    assert.equal(row(db, K("300")).reason, `cancelled-by:${K("400")}`);
    // IBKR's cancel does not refund the commission: the cost legs stay, to be pushed.
    for (const key of [K("100:commission"), K("100:tax"), K("300:commission"), K("300:rebate")]) {
      assert.deepEqual([row(db, key).state, row(db, key).cancelled_by], ["pending", null], key);
    }
    // The trade's own fee is handed back so the caller can book it; FX legs carry none.
    assert.deepEqual(kept, [K("300")]);
    assert.equal(row(db, K("100:cash")).state, "pending", "the :cash row is another row");
    assert.equal(row(db, K("100:cash")).cancelled_by, null);
    assert.equal(row(db, K("1001")).state, "pending");
    // The cancels themselves stay skipped, now saying what they cancelled.
    assert.deepEqual(
      [row(db, K("200")).state, row(db, K("200")).reason],
      ["skipped", `cancels:${K("100")}`],
    );
    assert.deepEqual(
      [row(db, K("400")).state, row(db, K("400")).reason],
      ["skipped", `cancels:${K("300")}`],
    );
    assert.deepEqual(cancellation(db, K("200")), {
      state: "resolved",
      resolved_key: K("100"),
      outcome: "superseded",
    });
    assert.deepEqual(corrections(db), []);
  }));

Deno.test("a reverse by targetMatch takes the earliest match not yet cancelled: two reversals take two originals, a third stays open", () =>
  withJournal((db) => {
    const w = writer(db);
    // IBKR's credit, reversal, credit again (PP#5683), twice: the same actionID and amount.
    // The earlier dividend has the larger key, so the date decides, not the key.
    w.activity(activity(K("502"), "DIVIDEND", { matchKey: DIVIDEND_MATCH, day: "2025-02-13" }));
    w.activity(activity(K("501"), "DIVIDEND", { matchKey: DIVIDEND_MATCH, day: "2025-03-13" }));
    w.activity(activity(K("503"), "DIVIDEND", { matchKey: "action:141000001:DIVIDEND:USD:2.6" }));
    const reversal = { targetKey: null, targetMatch: DIVIDEND_MATCH, reason: "dividend-reversal" };
    cancelRow(db, w, K("601"), reversal);
    cancelRow(db, w, K("602"), reversal);
    cancelRow(db, w, K("603"), reversal);

    assert.deepEqual(resolveCancellations(db, NOW), {
      resolved: 2,
      superseded: 2,
      corrections: 0,
      open: 1,
    });
    assert.equal(row(db, K("502")).cancelled_by, K("601"), "the first reversal takes the earliest");
    assert.equal(row(db, K("501")).cancelled_by, K("602"));
    assert.equal(row(db, K("503")).state, "pending", "another amount is not a match");
    assert.deepEqual(cancellation(db, K("603")), {
      state: "open",
      resolved_key: null,
      outcome: null,
    });
    assert.equal(row(db, K("603")).reason, "cancellation:dividend-reversal");

    // The credit it undoes arrives with a later statement: the third reversal takes it then.
    writer(db, LATER).activity(
      activity(K("504"), "DIVIDEND", { matchKey: DIVIDEND_MATCH, day: "2025-04-13" }),
    );
    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 1,
      superseded: 1,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(row(db, K("504")), {
      key: K("504"),
      state: "superseded",
      reason: `cancelled-by:${K("603")}`,
      cancelled_by: K("603"),
      match_key: DIVIDEND_MATCH,
    });
  }));

Deno.test("a reversal of an already pushed original leaves it pushed, records one pending delete correction and sets cancelled_by", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(activity(K("32000002"), "DIVIDEND", { matchKey: DIVIDEND_MATCH }));
    push(db, K("32000002"));
    cancelRow(db, writer(db, LATER), K("32000102"), {
      targetKey: null,
      targetMatch: DIVIDEND_MATCH,
      reason: "dividend-reversal",
    });

    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 1,
      superseded: 0,
      corrections: 1,
      open: 0,
    });
    assert.deepEqual(row(db, K("32000002")), {
      key: K("32000002"),
      state: "pushed",
      reason: null,
      cancelled_by: K("32000102"),
      match_key: DIVIDEND_MATCH,
    });
    assert.deepEqual(corrections(db), [{
      target_key: K("32000002"),
      action: "delete",
      cancel_key: K("32000102"),
      reason: "dividend-reversal",
      state: "pending",
    }]);
    assert.deepEqual(cancellation(db, K("32000102")), {
      state: "resolved",
      resolved_key: K("32000002"),
      outcome: "correction",
    });
    assert.equal(row(db, K("32000102")).reason, `cancels:${K("32000002")}`);

    // A second reversal of the same amount does not take the already cancelled dividend again.
    cancelRow(db, w, K("32000103"), {
      targetKey: null,
      targetMatch: DIVIDEND_MATCH,
      reason: "dividend-reversal",
    });
    assert.equal(resolveCancellations(db, LATER).open, 1);
    assert.equal(corrections(db).length, 1);
  }));

Deno.test("a trade cancel whose original was pushed: a delete correction for the trade, its commission leg stands", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(activity(K("31000001"), "BUY", { matchKey: "trade:7001001" }));
    w.activity(activity(K("31000001:commission"), "FEE"));
    push(db, K("31000001"));
    cancelRow(db, w, K("31000009"), {
      targetKey: null,
      targetMatch: "trade:7001001",
      reason: "trade-cancel",
    });
    const kept: string[] = [];
    assert.deepEqual(resolveCancellations(db, NOW, (original) => kept.push(original.key)), {
      resolved: 1,
      superseded: 0,
      corrections: 1,
      open: 0,
    });
    assert.deepEqual(states(db), {
      [K("31000001")]: "pushed",
      [K("31000001:commission")]: "pending",
      [K("31000009")]: "skipped",
    });
    assert.deepEqual(kept, [K("31000001")], "the deleted trade's fee is still to be booked");
    assert.deepEqual(corrections(db).map((c) => [c.target_key, c.action]), [[
      K("31000001"),
      "delete",
    ]]);
    assert.equal(cancellation(db, K("31000009")).outcome, "correction");
  }));

// ---- net ---------------------------------------------------------------------------------------

Deno.test("net mode with both unpushed supersedes both: cancelled-by:<refund> on the tax, nets-out:<tax> on the refund", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(
      activity(K("32000003"), "TAX", { matchKey: TAX_MATCH, amount: new Decimal("0.38") }),
    );
    w.activity(
      activity(K("32000103"), "CREDIT", { subtype: "REFUND", amount: new Decimal("0.38") }),
    );
    recordCancellation(db, {
      mode: "net",
      targetKey: null,
      targetMatch: TAX_MATCH,
      reason: "withholding-correction",
      key: K("32000103"),
      account: "U1",
      now: NOW,
    });
    assert.deepEqual(resolveCancellations(db, NOW), {
      resolved: 1,
      superseded: 2,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(row(db, K("32000003")), {
      key: K("32000003"),
      state: "superseded",
      reason: `cancelled-by:${K("32000103")}`,
      cancelled_by: K("32000103"),
      match_key: TAX_MATCH,
    });
    assert.deepEqual(
      [row(db, K("32000103")).state, row(db, K("32000103")).reason],
      ["superseded", `nets-out:${K("32000003")}`],
    );
    assert.deepEqual(cancellation(db, K("32000103")), {
      state: "resolved",
      resolved_key: K("32000003"),
      outcome: "netted",
    });
    assert.deepEqual(corrections(db), []);
  }));

Deno.test("net mode with the original pushed: the refund compensates it, nothing is superseded and no correction is recorded", () =>
  withJournal((db) => {
    writer(db).activity(
      activity(K("32000003"), "TAX", { matchKey: TAX_MATCH, amount: new Decimal("0.38") }),
    );
    push(db, K("32000003"));
    writer(db, LATER).activity(
      activity(K("32000103"), "CREDIT", { subtype: "REFUND", amount: new Decimal("0.38") }),
    );
    recordCancellation(db, {
      mode: "net",
      targetKey: null,
      targetMatch: TAX_MATCH,
      reason: "withholding-correction",
      key: K("32000103"),
      account: "U1",
      now: LATER,
    });
    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 1,
      superseded: 0,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(states(db), { [K("32000003")]: "pushed", [K("32000103")]: "pending" });
    assert.equal(row(db, K("32000103")).reason, null);
    assert.deepEqual(cancellation(db, K("32000103")), {
      state: "resolved",
      resolved_key: K("32000003"),
      outcome: "compensates",
    });
    assert.deepEqual(corrections(db), []);
  }));

// ---- order and repetition ----------------------------------------------------------------------

Deno.test("a cancellation whose original is not journaled yet stays open, and resolves once the original is written (file order does not matter)", () =>
  withJournal((db) => {
    // The later statement first: a trade cancel naming its transactionID, a dividend reversal.
    const later = writer(db, LATER);
    cancelRow(db, later, K("31000009"), {
      targetKey: K("31000001"),
      targetMatch: null,
      reason: "trade-cancel",
    });
    cancelRow(db, later, K("32000102"), {
      targetKey: null,
      targetMatch: DIVIDEND_MATCH,
      reason: "dividend-reversal",
    });
    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 0,
      superseded: 0,
      corrections: 0,
      open: 2,
    });
    assert.equal(row(db, K("31000009")).reason, "cancellation:trade-cancel");

    const earlier = writer(db, LATER);
    earlier.activity(activity(K("31000001"), "BUY", { matchKey: "trade:7001001" }));
    earlier.activity(activity(K("31000001:commission"), "FEE"));
    earlier.activity(activity(K("32000002"), "DIVIDEND", { matchKey: DIVIDEND_MATCH }));
    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 2,
      superseded: 2,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(states(db), {
      [K("31000001")]: "superseded",
      [K("31000001:commission")]: "pending",
      [K("31000009")]: "skipped",
      [K("32000002")]: "superseded",
      [K("32000102")]: "skipped",
    });
    assert.equal(row(db, K("31000009")).reason, `cancels:${K("31000001")}`);
    assert.equal(row(db, K("32000102")).reason, `cancels:${K("32000002")}`);
  }));

Deno.test("resolving twice (and recording a cancellation twice) changes nothing the second time: no duplicate corrections", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(activity(K("32000002"), "DIVIDEND", { matchKey: DIVIDEND_MATCH }));
    w.activity(activity(K("31000001"), "BUY", { matchKey: "trade:7001001" }));
    push(db, K("32000002"));
    const reversal = { targetKey: null, targetMatch: DIVIDEND_MATCH, reason: "dividend-reversal" };
    cancelRow(db, w, K("32000102"), reversal);
    cancelRow(db, w, K("31000009"), {
      targetKey: K("31000001"),
      targetMatch: null,
      reason: "trade-cancel",
    });
    const first = resolveCancellations(db, NOW);
    assert.deepEqual(first, { resolved: 2, superseded: 1, corrections: 1, open: 0 });
    const journal = () => ({
      activities: db.prepare("SELECT * FROM activities ORDER BY key").all().map((r) => ({ ...r })),
      cancellations: db.prepare("SELECT * FROM cancellations ORDER BY key").all().map((r) => ({
        ...r,
      })),
      corrections: db.prepare("SELECT * FROM corrections ORDER BY id").all().map((r) => ({ ...r })),
    });
    const before = journal();

    // The same statement mapped again records the same cancellations, then resolves again.
    recordCancellation(db, {
      mode: "reverse",
      ...reversal,
      key: K("32000102"),
      account: "U1",
      now: LATER,
    });
    assert.deepEqual(resolveCancellations(db, LATER), {
      resolved: 0,
      superseded: 0,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(journal(), before);
    assert.equal(corrections(db).length, 1);
  }));

Deno.test("a cancellation only ever touches its own account's rows", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(activity(K("32000002"), "DIVIDEND", { matchKey: DIVIDEND_MATCH }));
    cancelRow(db, w, "ibkr:U2:32000102", {
      targetKey: null,
      targetMatch: DIVIDEND_MATCH,
      reason: "dividend-reversal",
    }, "U2");
    assert.equal(resolveCancellations(db, NOW).open, 1);
    assert.equal(row(db, K("32000002")).state, "pending");
  }));

Deno.test("a trade cancel resolved by an older version, which superseded the commission with the trade, gets the commission back on the next resolution", () =>
  withJournal((db) => {
    const w = writer(db);
    w.activity(activity(K("31000001"), "BUY", { matchKey: "trade:7001001" }));
    w.activity(activity(K("31000001:commission"), "FEE"));
    cancelRow(db, w, K("31000009"), {
      targetKey: K("31000001"),
      targetMatch: null,
      reason: "trade-cancel",
    });
    resolveCancellations(db, NOW);
    // What mapping version 3 left behind: the leg superseded along with the trade.
    db.prepare(
      "UPDATE activities SET state = 'superseded', reason = ?, cancelled_by = ? WHERE key = ?",
    ).run(`cancelled-by:${K("31000009")}`, K("31000009"), K("31000001:commission"));

    const kept: string[] = [];
    assert.deepEqual(resolveCancellations(db, LATER, (original) => kept.push(original.key)), {
      resolved: 0,
      superseded: 0,
      corrections: 0,
      open: 0,
    });
    assert.deepEqual(row(db, K("31000001:commission")), {
      key: K("31000001:commission"),
      state: "pending",
      reason: null,
      cancelled_by: null,
      match_key: null,
    });
    assert.equal(row(db, K("31000001")).state, "superseded", "the trade itself stays undone");
    assert.deepEqual(kept, [K("31000001")], "its fee is handed back to be booked");
  }));
