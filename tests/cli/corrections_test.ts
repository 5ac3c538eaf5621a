/**
 * Cancels, reversals and withholding corrections end to end: the hand-written statements in
 * fixtures/corrections/ backfilled through the real CLI (the binary's permission flags), one
 * file at a time, in the order each case needs; then `activities --json` and the journal's own
 * corrections table.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { ActivityView } from "../../src/cli/output.ts";
import { rowKeyOf } from "../../src/journal/cancellations.ts";
import { journalFile, parseJson, REPO_ROOT, runCli, showRun, tempDataDir } from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
const K = (id: string) => `ibkr:U1234567:${id}`;
const DIR = `${REPO_ROOT}/fixtures/corrections`;
const TRADE_CANCELS = `${DIR}/trade-cancels.xml.fixture`;
const FX_REBOOK = `${DIR}/fx-cancel-rebook.xml.fixture`;
const DIVIDEND = `${DIR}/dividend-2025-04.xml.fixture`;
const REVERSAL = `${DIR}/dividend-reversal-2025-05.xml.fixture`;
const REFUND = `${DIR}/withholding-refund-2025-06.xml.fixture`;

async function backfill(dataDir: string, file: string): Promise<BackfillResult> {
  const run = await runCli(["--json", "backfill", file], { dataDir, env: GUARD });
  assert.equal(run.code, 0, showRun(run));
  const result = parseJson<BackfillResult>(run);
  assert.deepEqual(result.files.map((f) => f.outcome), ["journaled"], showRun(run));
  return result;
}

async function activities(dataDir: string): Promise<Map<string, ActivityView>> {
  const run = await runCli(["--json", "activities"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
  return new Map(parseJson<ActivityView[]>(run).map((a) => [a.key, a]));
}

/** `[state, reason]` of each key. */
function outcomes(rows: Map<string, ActivityView>, keys: readonly string[]) {
  return Object.fromEntries(keys.map((k) => {
    const row = rows.get(k);
    return [k, row ? [row.state, row.reason] : "missing"];
  }));
}

/** Runs `work` on the journal directly (for what the CLI does not show, and to simulate a push). */
function withDb<T>(dataDir: string, work: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(journalFile(dataDir));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

function corrections(dataDir: string) {
  return withDb(dataDir, (db) =>
    (db.prepare(
      "SELECT target_key, action, cancel_key, reason, state FROM corrections ORDER BY id",
    ).all() as Record<string, unknown>[]).map((r) => ({ ...r })));
}

function openCancellations(dataDir: string): string[] {
  return withDb(
    dataDir,
    (db) =>
      (db.prepare("SELECT key FROM cancellations WHERE state = 'open' ORDER BY key").all() as {
        key: string;
      }[]).map((r) => r.key),
  );
}

// ---- every row, one outcome ---------------------------------------------------------------------

/** The importable rows of a statement file, by key: executions and real-account cash rows. */
async function statementRowKeys(file: string): Promise<string[]> {
  const xml = await Deno.readTextFile(file);
  const keys: string[] = [];
  for (const [, tag, attrs] of xml.matchAll(/<(Trade|CashTransaction)\s([^>]*)\/>/g)) {
    const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(` ${attrs}`)?.[1];
    if (tag === "Trade" && (attr("levelOfDetail") ?? "EXECUTION") !== "EXECUTION") continue;
    if (tag === "CashTransaction" && attr("accountId") === "-") continue;
    const id = attr("transactionID");
    assert.ok(id, `every fixture row has a transactionID: ${attrs}`);
    keys.push(K(id));
  }
  return keys.sort();
}

/**
 * Every row of the files has exactly one outcome in the journal: one skipped entry, or its
 * activities (the row's key and legs), never both, never none; and nothing else is journaled.
 */
async function assertOneOutcomePerRow(
  rows: Map<string, ActivityView>,
  files: readonly string[],
): Promise<void> {
  const expected = (await Promise.all(files.map(statementRowKeys))).flat().sort();
  const byRow = new Map<string, ActivityView[]>();
  for (const row of rows.values()) {
    const key = rowKeyOf(row.key);
    byRow.set(key, [...(byRow.get(key) ?? []), row]);
  }
  assert.deepEqual([...byRow.keys()].sort(), expected, "the journal holds exactly the rows");
  for (const [key, entries] of byRow) {
    const skipped = entries.filter((e) => e.activityType === null);
    if (skipped.length > 0) {
      assert.deepEqual(entries.map((e) => e.key), [key], `${key}: one skip and nothing else`);
      assert.ok(skipped[0].reason, `${key}: a skip says why`);
    }
  }
}

/** The backfill's own count agrees: each row once, mapped or skipped. */
async function assertOutcomeCounts(result: BackfillResult, file: string): Promise<void> {
  const mapping = result.files[0].mapping;
  assert.ok(mapping, "a journaled file has a mapping summary");
  const { mapped, skipped, unchanged } = mapping.outcomes;
  assert.equal(mapped + skipped + unchanged, (await statementRowKeys(file)).length, file);
}

/** No amount anywhere is negative: a reversal is never booked as an activity of either sign. */
function assertNothingSignFlipped(rows: Map<string, ActivityView>): void {
  for (const row of rows.values()) {
    if (row.amount !== null) assert.ok(!row.amount.startsWith("-"), `${row.key} ${row.amount}`);
  }
}

// ---- (a) trade cancels --------------------------------------------------------------------------

Deno.test("(a) a trade and its TradeCancel in one file: the trade superseded by the cancel, its commission still charged, the cancel skipped as cancels:<trade>", async () => {
  const dataDir = await tempDataDir();
  const result = await backfill(dataDir, TRADE_CANCELS);
  const rows = await activities(dataDir);
  const cancelledBy = (id: string) => ["superseded", `cancelled-by:${K(id)}`];
  const cancels = (id: string) => ["skipped", `cancels:${K(id)}`];
  assert.deepEqual(
    outcomes(rows, [
      K("31002101"),
      K("31002101:commission"),
      K("31002109"),
      K("31002102"),
      K("31002102:fee"),
      K("31002110"),
      K("31002103"),
      K("31002111"),
      K("31002112"),
      K("31002104"),
    ]),
    {
      // By origTransactionID. IBKR's cancel carries ibCommission="0": the GBP commission the
      // trade was charged stays charged (contracts §4.3), so its leg stays to be pushed.
      [K("31002101")]: cancelledBy("31002109"),
      [K("31002101:commission")]: ["pending", null],
      [K("31002109")]: cancels("31002101"),
      // By origTradeID alone (PP File09 has no origTransactionID). The commission was part of
      // the BUY's fee: it is booked on its own, as the trade's :fee.
      [K("31002102")]: cancelledBy("31002110"),
      [K("31002102:fee")]: ["pending", null],
      [K("31002110")]: cancels("31002102"),
      // A FracShareCancel names nothing: the earliest fractional sale of the same conid and size.
      [K("31002103")]: cancelledBy("31002111"),
      [K("31002111")]: cancels("31002103"),
      [K("31002112")]: ["pending", null],
      // Nothing cancels the AAPL sell.
      [K("31002104")]: ["pending", null],
    },
  );
  assert.deepEqual(result.files[0].mapping?.corrections, {
    resolved: 3,
    superseded: 3,
    corrections: 0,
    open: 0,
  });
  const fee = rows.get(K("31002102:fee"))!;
  assert.deepEqual(
    [fee.activityType, fee.amount, fee.currency, fee.symbol, fee.date?.slice(0, 10)],
    ["FEE", "1.0012", "USD", null, "2025-08-04"],
  );
  assert.deepEqual(
    [rows.get(K("31002101:commission"))?.activityType, rows.get(K("31002101:commission"))?.amount],
    ["FEE", "1.7"],
  );
  assert.deepEqual(corrections(dataDir), []);
  await assertOneOutcomePerRow(rows, [TRADE_CANCELS]);
  await assertOutcomeCounts(result, TRADE_CANCELS);
  assertNothingSignFlipped(rows);
});

// ---- (b) FX cancel and re-booking ---------------------------------------------------------------

Deno.test("(b) an FX conversion cancelled and re-booked (same tradeID, new transactionID): the first conversion's cash legs superseded, its commission still charged, the re-booking's pending", async () => {
  const dataDir = await tempDataDir();
  const result = await backfill(dataDir, FX_REBOOK);
  const rows = await activities(dataDir);
  const first = ["out", "in"].map((leg) => K(`31002201:${leg}`));
  assert.deepEqual(
    [rows.get(K("31002201:commission"))?.state, rows.get(K("31002201:commission"))?.amount],
    ["pending", "1.6"],
  );
  const rebooked = ["out", "in", "commission"].map((leg) => K(`31002203:${leg}`));
  for (const key of first) {
    assert.deepEqual(
      [rows.get(key)?.state, rows.get(key)?.reason],
      ["superseded", `cancelled-by:${K("31002202")}`],
      key,
    );
  }
  for (const key of rebooked) {
    assert.deepEqual([rows.get(key)?.state, rows.get(key)?.reason], ["pending", null], key);
  }
  assert.deepEqual(
    rebooked.map((k) => [rows.get(k)?.activityType, rows.get(k)?.amount, rows.get(k)?.currency]),
    [["TRANSFER_OUT", "2000", "GBP"], ["TRANSFER_IN", "2689.8", "USD"], ["FEE", "1.6", "GBP"]],
  );
  assert.deepEqual(
    [rows.get(K("31002202"))?.state, rows.get(K("31002202"))?.reason],
    ["skipped", `cancels:${K("31002201")}`],
  );
  assert.deepEqual(corrections(dataDir), []);
  await assertOneOutcomePerRow(rows, [FX_REBOOK]);
  await assertOutcomeCounts(result, FX_REBOOK);
});

// ---- (c)–(e) a dividend and its withholding, reversed in a later statement ----------------------

const DIV = K("32002301");
const TAX = K("32002302");
const DIV_REVERSAL = K("32002401");
const TAX_REFUND = K("32002402");
const RECREDIT = K("32002403");
const RETAX = K("32002404");
const DIVIDEND_KEYS = [DIV, TAX, DIV_REVERSAL, TAX_REFUND, RECREDIT, RETAX];

/** The end state when both reversals meet unpushed originals, whichever file came first. */
const NETTED = {
  [DIV]: ["superseded", `cancelled-by:${DIV_REVERSAL}`],
  [TAX]: ["superseded", `cancelled-by:${TAX_REFUND}`],
  [DIV_REVERSAL]: ["skipped", `cancels:${DIV}`],
  [TAX_REFUND]: ["superseded", `nets-out:${TAX}`],
  [RECREDIT]: ["pending", null],
  [RETAX]: ["pending", null],
};

/** What would be pushed: the corrected re-credit and its tax, nothing of the reversed pair. */
function assertOnlyTheCorrectionIsPending(rows: Map<string, ActivityView>): void {
  const pending = [...rows.values()].filter((r) => r.state === "pending");
  assert.deepEqual(
    pending.map((r) => [r.key, r.activityType, r.amount]),
    [[RECREDIT, "DIVIDEND", "25.75"], [RETAX, "TAX", "3.86"]],
  );
  // The tax correction was netted: no CREDIT reaches Wealthfolio for it.
  assert.equal(rows.get(TAX_REFUND)?.activityType, "CREDIT");
  assert.notEqual(rows.get(TAX_REFUND)?.state, "pending");
  // Never a sign-flipped positive: the reversal is not a DIVIDEND of any sign.
  assert.equal(rows.get(DIV_REVERSAL)?.activityType, null);
  assert.equal(
    [...rows.values()].filter((r) => r.activityType === "DIVIDEND").length,
    2,
    "the original and the re-credit, nothing booked from the reversal",
  );
  assertNothingSignFlipped(rows);
}

Deno.test("(c) a dividend and its withholding, reversed in a later statement backfilled separately: both superseded, nothing sign-flipped, no CREDIT for the netted tax", async () => {
  const dataDir = await tempDataDir();
  const first = await backfill(dataDir, DIVIDEND);
  assert.deepEqual(first.files[0].mapping?.corrections, {
    resolved: 0,
    superseded: 0,
    corrections: 0,
    open: 0,
  });
  const second = await backfill(dataDir, REVERSAL);
  assert.deepEqual(second.files[0].mapping?.corrections, {
    resolved: 2,
    superseded: 3,
    corrections: 0,
    open: 0,
  });
  const rows = await activities(dataDir);
  assert.deepEqual(outcomes(rows, DIVIDEND_KEYS), NETTED);
  assertOnlyTheCorrectionIsPending(rows);
  // Paired by actionID: the dividend, its tax, and the corrected pair are one group.
  assert.deepEqual(
    [DIV, TAX, RECREDIT, RETAX].map((k) => rows.get(k)?.groupKey),
    Array(4).fill(K("dividend:143000001")),
  );
  assert.deepEqual(corrections(dataDir), []);
  assert.deepEqual(openCancellations(dataDir), []);
  await assertOneOutcomePerRow(rows, [DIVIDEND, REVERSAL]);
  await assertOutcomeCounts(first, DIVIDEND);
  await assertOutcomeCounts(second, REVERSAL);
});

Deno.test("(d) the dividend already pushed when its reversal arrives: a pending delete correction is recorded for it, and it stays pushed", async () => {
  const dataDir = await tempDataDir();
  await backfill(dataDir, DIVIDEND);
  // What a push would have done to the journal row.
  withDb(
    dataDir,
    (db) => db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(DIV),
  );
  const second = await backfill(dataDir, REVERSAL);
  assert.deepEqual(second.files[0].mapping?.corrections, {
    resolved: 2,
    superseded: 2,
    corrections: 1,
    open: 0,
  });
  assert.deepEqual(corrections(dataDir), [{
    target_key: DIV,
    action: "delete",
    cancel_key: DIV_REVERSAL,
    reason: "dividend-reversal",
    state: "pending",
  }]);
  const rows = await activities(dataDir);
  assert.deepEqual(outcomes(rows, DIVIDEND_KEYS), {
    ...NETTED,
    [DIV]: ["pushed", null],
  });
  assert.equal(
    withDb(
      dataDir,
      (db) =>
        (db.prepare("SELECT cancelled_by FROM activities WHERE key = ?").get(DIV) as {
          cancelled_by: string;
        }).cancelled_by,
    ),
    DIV_REVERSAL,
  );
  assertNothingSignFlipped(rows);
  await assertOneOutcomePerRow(rows, [DIVIDEND, REVERSAL]);

  // Backfilling the reversal again changes nothing: no second correction.
  const again = await runCli(["--json", "backfill", REVERSAL], { dataDir, env: GUARD });
  assert.equal(again.code, 0, showRun(again));
  assert.equal(corrections(dataDir).length, 1);
});

Deno.test("(d') dividend and withholding both pushed: the dividend gets a delete correction, the tax refund is booked as its compensation", async () => {
  const dataDir = await tempDataDir();
  await backfill(dataDir, DIVIDEND);
  withDb(
    dataDir,
    (db) => db.prepare("UPDATE activities SET state = 'pushed' WHERE key IN (?, ?)").run(DIV, TAX),
  );
  await backfill(dataDir, REVERSAL);
  assert.deepEqual(corrections(dataDir).map((c) => [c.target_key, c.action, c.state]), [
    [DIV, "delete", "pending"],
  ]);
  const rows = await activities(dataDir);
  assert.deepEqual(outcomes(rows, DIVIDEND_KEYS), {
    ...NETTED,
    [DIV]: ["pushed", null],
    [TAX]: ["pushed", null],
    [TAX_REFUND]: ["pending", null],
  });
  assert.deepEqual(
    [
      rows.get(TAX_REFUND)?.activityType,
      rows.get(TAX_REFUND)?.subtype,
      rows.get(TAX_REFUND)?.amount,
    ],
    ["CREDIT", "REFUND", "3.83"],
  );
});

Deno.test("(e) the reversal statement backfilled before the original one gives the same end state as (c)", async () => {
  const dataDir = await tempDataDir();
  const first = await backfill(dataDir, REVERSAL);
  assert.deepEqual(first.files[0].mapping?.corrections, {
    resolved: 0,
    superseded: 0,
    corrections: 0,
    open: 2,
  });
  assert.deepEqual(openCancellations(dataDir), [DIV_REVERSAL, TAX_REFUND]);
  const second = await backfill(dataDir, DIVIDEND);
  assert.deepEqual(second.files[0].mapping?.corrections, {
    resolved: 2,
    superseded: 3,
    corrections: 0,
    open: 0,
  });
  const rows = await activities(dataDir);
  assert.deepEqual(outcomes(rows, DIVIDEND_KEYS), NETTED);
  assertOnlyTheCorrectionIsPending(rows);
  assert.deepEqual(corrections(dataDir), []);
  assert.deepEqual(openCancellations(dataDir), []);
  await assertOneOutcomePerRow(rows, [DIVIDEND, REVERSAL]);
});

Deno.test("(c)+(e) both files in one backfill, in either order on the command line: the same end state", async () => {
  for (const files of [[DIVIDEND, REVERSAL], [REVERSAL, DIVIDEND]]) {
    const dataDir = await tempDataDir();
    const run = await runCli(["--json", "backfill", ...files], { dataDir, env: GUARD });
    assert.equal(run.code, 0, showRun(run));
    const rows = await activities(dataDir);
    assert.deepEqual(outcomes(rows, DIVIDEND_KEYS), NETTED, files.join(" "));
    assertOnlyTheCorrectionIsPending(rows);
  }
});

// ---- (f) a refund with nothing to net ---------------------------------------------------------

Deno.test("(f) a withholding refund whose tax is not in the journal stays a pending CREDIT REFUND, its cancellation open", async () => {
  const dataDir = await tempDataDir();
  const result = await backfill(dataDir, REFUND);
  assert.deepEqual(result.files[0].mapping?.corrections, {
    resolved: 0,
    superseded: 0,
    corrections: 0,
    open: 1,
  });
  const rows = await activities(dataDir);
  const refund = rows.get(K("32002501"));
  assert.deepEqual(
    [
      refund?.activityType,
      refund?.subtype,
      refund?.amount,
      refund?.currency,
      refund?.symbol,
      refund?.state,
      refund?.reason,
    ],
    ["CREDIT", "REFUND", "1.22", "USD", null, "pending", null],
  );
  assert.deepEqual(openCancellations(dataDir), [K("32002501")]);
  assert.deepEqual(corrections(dataDir), []);
  await assertOneOutcomePerRow(rows, [REFUND]);
  await assertOutcomeCounts(result, REFUND);
});

// ---- (g) a journal from before corrections --------------------------------------------------------

Deno.test("(g) a dividend pushed before corrections existed (previous mapping version, no match_key) still gets its delete correction once its statement is mapped again", async () => {
  const dataDir = await tempDataDir();
  await backfill(dataDir, DIVIDEND);
  // The journal as the previous mapping version left it: migration 2 added match_key empty to
  // every row, the statement was mapped by that version, and the dividend has been pushed since.
  withDb(dataDir, (db) => {
    db.exec("UPDATE activities SET match_key = NULL, mapping_version = mapping_version - 1");
    db.exec("UPDATE statement_mappings SET mapping_version = mapping_version - 1");
    db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(DIV);
  });
  const remap = await runCli(["--json", "backfill", DIVIDEND], { dataDir, env: GUARD });
  assert.equal(remap.code, 0, showRun(remap));
  assert.deepEqual(parseJson<BackfillResult>(remap).files.map((f) => f.outcome), ["remapped"]);
  await backfill(dataDir, REVERSAL);

  const rows = await activities(dataDir);
  assert.deepEqual(outcomes(rows, [TAX, TAX_REFUND]), {
    [TAX]: NETTED[TAX],
    [TAX_REFUND]: NETTED[TAX_REFUND],
  });
  assert.deepEqual(
    corrections(dataDir).map((c) => [c.target_key, c.action, c.cancel_key]),
    [[DIV, "delete", DIV_REVERSAL]],
    `the reversal of the pushed dividend must reach Wealthfolio; open: ${
      openCancellations(dataDir).join(", ")
    }`,
  );
});

Deno.test("(h) a statement mapped again by a newer mapping version keeps its resolved cancels: originals superseded, cancels still saying cancels:<key>", async () => {
  const dataDir = await tempDataDir();
  await backfill(dataDir, TRADE_CANCELS);
  const before = await activities(dataDir);
  // As if the journal had been mapped by the previous mapping version.
  withDb(dataDir, (db) => {
    db.exec("UPDATE activities SET mapping_version = mapping_version - 1");
    db.exec("UPDATE statement_mappings SET mapping_version = mapping_version - 1");
  });
  const remap = await runCli(["--json", "backfill", TRADE_CANCELS], { dataDir, env: GUARD });
  assert.equal(remap.code, 0, showRun(remap));
  assert.deepEqual(parseJson<BackfillResult>(remap).files.map((f) => f.outcome), ["remapped"]);
  const after = await activities(dataDir);
  const keys = [...before.keys()].sort();
  assert.deepEqual(outcomes(after, keys), outcomes(before, keys));
});

// ---- the fixtures themselves --------------------------------------------------------------------

Deno.test("the correction fixtures are not picked up by a backfill of fixtures/ (the demo)", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["--json", "backfill", `${REPO_ROOT}/fixtures`], {
    dataDir,
    env: GUARD,
  });
  assert.equal(run.code, 0, showRun(run));
  const files = parseJson<BackfillResult>(run).files.map((f) => f.path);
  assert.ok(files.every((f) => !f.includes("/corrections/")), files.join(", "));
});
