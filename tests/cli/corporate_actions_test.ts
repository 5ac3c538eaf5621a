/**
 * Corporate actions and transfers end to end: fixtures/corporate-actions/ backfilled through the
 * real CLI into a real journal, so the cost of what an action moves comes from the journal itself;
 * then `activities`, `status` and `verify-books` as an operator would run them.
 */
import assert from "node:assert/strict";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { BooksReport } from "../../src/app/verify_books.ts";
import type { ActivityView } from "../../src/cli/output.ts";
import { parseJson, REPO_ROOT, runCli, showRun, tempDataDir } from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
const K = (id: string) => `ibkr:U1234567:${id}`;
const DIR = `${REPO_ROOT}/fixtures/corporate-actions`;
const HOLDINGS = `${DIR}/holdings-2024.xml.fixture`;
const ACTIONS = `${DIR}/actions-2025.xml.fixture`;

async function backfill(dataDir: string, ...files: string[]): Promise<BackfillResult> {
  const run = await runCli(["--json", "backfill", ...files], { dataDir, env: GUARD });
  assert.equal(run.code, 0, showRun(run));
  return parseJson<BackfillResult>(run);
}

async function activities(dataDir: string): Promise<Map<string, ActivityView>> {
  const run = await runCli(["--json", "activities"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
  return new Map(parseJson<ActivityView[]>(run).map((a) => [a.key, a]));
}

/** `[state, type, symbol, quantity, unitPrice, amount]` of each key, or the skip's reason. */
function view(rows: Map<string, ActivityView>, keys: readonly string[]) {
  return Object.fromEntries(keys.map((k) => {
    const a = rows.get(k);
    if (!a) return [k, "missing"];
    if (a.activityType === null) return [k, [a.state, a.reason]];
    return [k, [a.state, a.activityType, a.symbol, a.quantity, a.unitPrice, a.amount]];
  }));
}

Deno.test("with the history in the journal, every action carries the cost it moves, and the 2025 books balance cash and positions", async () => {
  const dataDir = await tempDataDir();
  const result = await backfill(dataDir, HOLDINGS, ACTIONS);
  const actions = result.files[1].mapping!;
  // 9 CorporateAction DETAIL rows (one a cancel), 1 trade, 3 transfers; the SUMMARY repeat of
  // a DETAIL row is ignored.
  assert.deepEqual(actions.outcomes, { mapped: 12, skipped: 1, unchanged: 0 });
  assert.equal(actions.ignored["corporate-action-summary-beside-detail"], 1);

  const rows = await activities(dataDir);
  assert.deepEqual(
    view(
      rows,
      [
        "35100001",
        "35100002",
        "35100003",
        "35100003:proceeds",
        "35100004",
        "35100005",
        "35100006",
        "35100007",
        "35100008",
        "35100009",
        "35200001",
        "35200002",
        "35200003",
      ].map(K),
    ),
    {
      // RS 1 FOR 10 with a new ISIN: XYZ (as bought, not XYZ.OLD) out; cost 1002 + 600 in.
      [K("35100001")]: ["pending", "TRANSFER_OUT", "XYZ", "150", null, null],
      [K("35100002")]: ["pending", "TRANSFER_IN", "XYZD", "15", "106.8", null],
      // The merger counts the 10 ABC bought in 2025, although <Trades> comes after the actions.
      [K("35100003")]: ["pending", "TRANSFER_OUT", "ABC", "210", null, null],
      [K("35100003:proceeds")]: ["pending", "TRANSFER_IN", null, null, null, "315"],
      [K("35100004")]: ["pending", "TRANSFER_IN", "NEWC", "100", "10.6", null],
      [K("35100005")]: ["pending", "TRANSFER_OUT", "DEF", "40", null, null],
      [K("35100006")]: ["pending", "SPLIT", "SPL", null, null, "1.5"],
      [K("35100007")]: ["pending", "TRANSFER_IN", "GHI", "10", "0", null],
      // The stock dividend and its cancel (code Ca): neither is pushed.
      [K("35100008")]: ["superseded", "TRANSFER_IN", "SPL", "2", "0", null],
      [K("35100009")]: ["skipped", `cancels:${K("35100008")}`],
      [K("35200001")]: ["pending", "TRANSFER_IN", null, null, null, "500"],
      [K("35200002")]: ["pending", "TRANSFER_IN", "JKL", "20", null, null],
      [K("35200003")]: ["pending", "TRANSFER_OUT", "SPL", "5", null, null],
    },
  );
  assert.deepEqual(rows.get(K("35200002"))!.metadata, { flow: { is_external: true } });
  assert.equal(rows.get(K("35200001"))!.metadata, null);
  assert.equal(
    rows.get(K("35100002"))!.groupKey,
    rows.get(K("35100001"))!.groupKey,
    "the legs of one action share Wealthfolio's sourceGroupId",
  );

  const books = await runCli(["--json", "verify-books"], { dataDir });
  assert.equal(books.code, 0, showRun(books));
  const report = parseJson<BooksReport>(books);
  const statement = report.statements.find((s) => s.origin.endsWith("actions-2025.xml.fixture"))!;
  assert.deepEqual(statement.cash!.map((c) => [c.currency, c.ibkr, c.mapped, c.balanced]), [
    ["USD", "756", "756", true],
  ]);
  assert.equal(statement.positions.checked, true);
  // SPL: 80, ×1.5 by the SPLIT, +2 −2 (dividend and its cancel), −5 transferred out = 115.
  assert.deepEqual(
    statement.positions.rows.map((p) => [p.symbol, p.start, p.mappedChange, p.ibkrEnd, p.balanced]),
    [
      ["XYZ", "150", "-150", "0", true],
      ["XYZD", "0", "15", "15", true],
      ["ABC", "200", "-200", "0", true],
      ["DEF", "40", "-40", "0", true],
      ["SPL", "80", "35", "115", true],
      ["NEWC", "0", "100", "100", true],
      ["GHI", "0", "10", "10", true],
      ["JKL", "0", "20", "20", true],
    ],
  );
});

Deno.test("without the history, nothing is guessed: the old legs the journal cannot name are skipped for review, new shares come in at an unknown cost, and the books say so", async () => {
  const dataDir = await tempDataDir();
  await backfill(dataDir, ACTIONS);
  const rows = await activities(dataDir);
  assert.deepEqual(view(rows, ["35100001", "35100002", "35100003", "35100004"].map(K)), {
    [K("35100001")]: ["skipped", "corporate-action-placeholder-venue:VALUE"],
    [K("35100002")]: ["pending", "TRANSFER_IN", "XYZD", "15", null, null],
    // The journal knows ABC from this statement's own buy of 10, so the merger names it; but
    // 10 shares cannot price 210, so NEWC's cost stays unknown.
    [K("35100003")]: ["pending", "TRANSFER_OUT", "ABC", "210", null, null],
    [K("35100004")]: ["pending", "TRANSFER_IN", "NEWC", "100", null, null],
  });
  // The split cannot be checked against a position the journal does not hold; its ratio is
  // IBKR's, so it is still a SPLIT.
  assert.equal(rows.get(K("35100006"))!.activityType, "SPLIT");

  const status = await runCli(["--json", "status"], { dataDir });
  assert.equal(status.code, 0, showRun(status));
  const skipped = parseJson<{ skipped: { reason: string; count: number }[] }>(status).skipped;
  assert.deepEqual(
    skipped.find((s) => s.reason === "corporate-action-placeholder-venue:VALUE")?.count,
    2,
    "XYZ.OLD and DEF wait for review",
  );

  const books = await runCli(["--json", "verify-books"], { dataDir });
  assert.equal(books.code, 7, showRun(books));
  const [statement] = parseJson<BooksReport>(books).statements;
  assert.deepEqual(
    statement.positions.rows.filter((p) => !p.balanced).map((p) => [p.symbol, p.difference]),
    [["XYZ", "150"], ["DEF", "40"]],
  );
  assert.equal(statement.skipped["corporate-action-placeholder-venue:VALUE"], 2);
});

Deno.test("a bond called, a tender paid out through its CORPACT line and a tender for cash: Wealthfolio's positions close and the 2025 books balance", async () => {
  const dataDir = await tempDataDir();
  const result = await backfill(dataDir, `${DIR}/redemptions-2025.xml.fixture`);
  assert.deepEqual(result.files[0].mapping!.outcomes, { mapped: 8, skipped: 0, unchanged: 0 });
  const rows = await activities(dataDir);
  assert.deepEqual(
    view(
      rows,
      ["35300011", "35300012", "35300013", "35300014", "35300014:proceeds", "35300015"].map(K),
    ),
    {
      // 8000 face at 1.10306815 per unit of face: the redemption's 8824.5452.
      [K("35300011")]: ["pending", "SELL", "US9999000706", "8000", "1.10306815", "8824.5452"],
      [K("35300012")]: ["pending", "TRANSFER_OUT", "TND", "99", null, null],
      // The tender line holds the tendered shares, at their cost (1485 + 1) / 99.
      [K("35300013")]: ["pending", "TRANSFER_IN", "TND", "99", "15.010101010101010101", null],
      [K("35300014")]: ["pending", "TRANSFER_OUT", "TND", "99", null, null],
      [K("35300014:proceeds")]: ["pending", "TRANSFER_IN", null, null, null, "2054.25"],
      [K("35300015")]: ["pending", "SELL", "ABC", "40", "20.75", "830"],
    },
  );

  const books = await runCli(["--json", "verify-books"], { dataDir });
  assert.equal(books.code, 0, showRun(books));
  const [statement] = parseJson<BooksReport>(books).statements;
  assert.deepEqual(
    statement.cash!.map((c) => [c.currency, c.ibkr, c.mapped, c.balanced]),
    [["USD", "640.7952", "640.7952", true]],
  );
  // The sales and the payout count where IBKR counts them: with the trades.
  assert.deepEqual(
    statement.cash![0].categories.map((c) => [c.category, c.ibkr, c.mapped]),
    [["trades", "643.7952", "643.7952"], ["commissions", "-3", "-3"]],
  );
  assert.equal(statement.positions.checked, true);
  // The bond and TND are gone (bought, then redeemed or paid out): no row, nothing left over.
  assert.deepEqual(
    statement.positions.rows.map((p) => [p.symbol, p.start, p.mappedChange, p.ibkrEnd, p.balanced]),
    [["ABC", "0", "10", "10", true]],
  );
});
