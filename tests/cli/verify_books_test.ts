import assert from "node:assert/strict";
import type { BooksReport } from "../../src/app/verify_books.ts";
import type { ActivityView } from "../../src/cli/output.ts";
import { FIXTURE, parseJson, REPO_ROOT, runCli, showRun, tempDataDir } from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
// PP File14: CHF base, EBS/ARCA/NASDAQ trades, two IDEALFX conversions, a CashReport.
const FX_SAMPLE = "../shared/flex-samples/portfolio-performance/testIBFlexStatementFile14.xml";

Deno.test("verify-books balances a statement with FX conversions to the cent, currency by currency, and exits 0", async () => {
  const run = await runCli(["--json", "verify-books", FX_SAMPLE], { dataDir: await tempDataDir() });
  assert.equal(run.code, 0, showRun(run));
  const report = parseJson<BooksReport>(run);
  assert.equal(report.outcome, "balanced");
  const [statement] = report.statements;
  assert.deepEqual(
    statement.cash!.map((c) => [c.currency, c.ibkr, c.mapped, c.balanced]),
    [["CHF", "5.353618", "5.353618", true], ["USD", "32.509221", "32.509221", true]],
  );
});

Deno.test("verify-books names the cause of a difference: an unmapped cash type shows in its CashReport column, exit 7", async () => {
  const run = await runCli(["--json", "verify-books", FIXTURE], { dataDir: await tempDataDir() });
  assert.equal(run.code, 7, showRun(run));
  const report = parseJson<BooksReport>(run);
  const [statement] = report.statements;
  assert.equal(statement.outcome, "differs");
  const gbp = statement.cash!.find((c) => c.currency === "GBP")!;
  assert.equal(gbp.difference, "-0.5");
  assert.deepEqual(
    gbp.categories.filter((k) => k.difference !== "0" && k.ibkr !== "(not in report)"),
    [{ category: "otherFees", ibkr: "0.5", mapped: "0", difference: "-0.5" }],
  );
  assert.deepEqual(statement.skipped, { "unknown-cash-type:Fees Rebate": 1 });
  const usd = statement.cash!.find((c) => c.currency === "USD")!;
  assert.equal(usd.balanced, true, "USD, with trades, a dividend, its tax and FX, balances");
});

Deno.test("verify-books without paths checks the journal's statements and prints a human table", async () => {
  const dataDir = await tempDataDir();
  const backfill = await runCli(["backfill", FIXTURE], { dataDir, env: GUARD });
  assert.equal(backfill.code, 0, showRun(backfill));
  const run = await runCli(["verify-books"], { dataDir });
  assert.equal(run.code, 7, showRun(run));
  assert.match(run.stdout, /DIFFERS\s+.*U1234567-2025\.xml \[U1234567 2025-01-02\.\.2025-06-30\]/);
  assert.match(run.stdout, /GBP otherFees: IBKR 0\.5, mapped 0, difference -0\.5/);
  assert.match(run.stdout, /1 of 1 statement\(s\) differ/);
});

Deno.test("verify-books with an empty journal has nothing to verify and exits 0", async () => {
  const run = await runCli(["verify-books"], { dataDir: await tempDataDir() });
  assert.equal(run.code, 0, showRun(run));
  assert.match(run.stdout, /no statements to verify/);
});

const BOOKS = `${REPO_ROOT}/fixtures/books`;
const OPTIONS_BONDS = `${BOOKS}/options-bonds.xml.fixture`;
const FUTURES = `${BOOKS}/futures.xml.fixture`;
const CANCELLED_TRADE = `${BOOKS}/cancelled-trade.xml.fixture`;
// No CashReport, no OpenPositions: a dividend and its withholding only.
const NOTHING_TO_COMPARE = `${REPO_ROOT}/fixtures/corrections/dividend-2025-04.xml.fixture`;

Deno.test("verify-books balances options in contracts and bonds in face value against the CashReport and OpenPositions, the OptionEAE duplicates not counted", async () => {
  const run = await runCli(["--json", "verify-books", OPTIONS_BONDS], {
    dataDir: await tempDataDir(),
  });
  assert.equal(run.code, 0, showRun(run));
  const [statement] = parseJson<BooksReport>(run).statements;
  assert.equal(statement.outcome, "balanced");
  const [usd] = statement.cash!;
  // Premiums ×100 per contract, the bond at percent of par: IBKR moved −8622.69.
  assert.deepEqual([usd.currency, usd.ibkr, usd.mapped, usd.balanced], [
    "USD",
    "-8622.69",
    "-8622.69",
    true,
  ]);
  assert.deepEqual(
    usd.categories.map((k) => [k.category, k.ibkr, k.mapped]),
    [
      ["trades", "-8620", "-8620"],
      ["commissions", "-10.35", "-10.35"],
      ["dividends", "0", "0"],
      ["withholdingTax", "0", "0"],
      ["bondInterest", "7.66", "7.66"],
      ["otherFees", "0", "0"],
    ],
  );
  // Assigned put and expired calls closed; 100 ORCL from the assignment; 3000 face left.
  assert.equal(statement.positions.checked, true);
  assert.deepEqual(
    statement.positions.rows.map((p) => [p.symbol, p.mappedChange, p.ibkrEnd, p.balanced]),
    [["ORCL", "100", "100", true], ["F 6.1 08/19/32", "3000", "3000", true]],
  );
});

Deno.test("verify-books compares a statement with its own CashReport rows only: another account's row is ignored, a masked row of its own (U***4567) is used", async () => {
  // The fixture's first USD row belongs to U7654321 (endingCash 999): taken, it would differ.
  const run = await runCli(["--json", "verify-books", OPTIONS_BONDS], {
    dataDir: await tempDataDir(),
  });
  const [statement] = parseJson<BooksReport>(run).statements;
  assert.deepEqual(
    statement.cash!.map((c) => [c.currency, c.startingCash, c.endingCash]),
    [["USD", "20000", "11377.31"]],
  );
});

Deno.test("a future is never booked at its notional: verify-books shows its variation margin as the difference, and names the skipped rows, exit 7", async () => {
  const run = await runCli(["--json", "verify-books", FUTURES], { dataDir: await tempDataDir() });
  assert.equal(run.code, 7, showRun(run));
  const [statement] = parseJson<BooksReport>(run).statements;
  assert.equal(statement.outcome, "differs");
  const [usd] = statement.cash!;
  // Booked as a BUY it would have moved −156252.47; IBKR moved the margin only.
  assert.deepEqual([usd.ibkr, usd.mapped, usd.difference], ["1672.53", "0", "-1672.53"]);
  assert.deepEqual(statement.skipped, { "unsupported-instrument:FUT": 1 });
});

Deno.test("a cancelled trade's commission stays charged: the books balance against a CashReport that kept it, from the file and from the journal", async () => {
  const dataDir = await tempDataDir();
  const file = await runCli(["--json", "verify-books", CANCELLED_TRADE], { dataDir });
  assert.equal(file.code, 0, showRun(file));
  const [fromFile] = parseJson<BooksReport>(file).statements;
  assert.deepEqual(
    fromFile.cash!.map((c) => [c.currency, c.ibkr, c.mapped]),
    [["EUR", "-2.4444", "-2.4444"]],
  );

  const backfill = await runCli(["backfill", CANCELLED_TRADE], { dataDir, env: GUARD });
  assert.equal(backfill.code, 0, showRun(backfill));
  const journal = await runCli(["--json", "verify-books"], { dataDir });
  assert.equal(journal.code, 0, showRun(journal));
  assert.equal(parseJson<BooksReport>(journal).outcome, "balanced");
  // What the push step will send: the commission, alone, as a FEE on the trade's day.
  const pending = await runCli(["--json", "activities", "--state", "pending"], { dataDir });
  assert.deepEqual(
    parseJson<ActivityView[]>(pending).map((a) => [a.key, a.activityType, a.amount, a.currency]),
    [["ibkr:U1234567:31004201:fee", "FEE", "2.4444", "EUR"]],
  );
});

Deno.test("verify-books reports a statement with nothing to compare as not checked, never as balanced, and exits 0", async () => {
  const run = await runCli(["--json", "verify-books", NOTHING_TO_COMPARE], {
    dataDir: await tempDataDir(),
  });
  assert.equal(run.code, 0, showRun(run));
  const report = parseJson<BooksReport>(run);
  assert.equal(report.outcome, "not-checked");
  assert.deepEqual(report.counts, { balanced: 0, differs: 0, notChecked: 1 });
  assert.equal(report.statements[0].outcome, "not-checked");

  const text = await runCli(["verify-books", NOTHING_TO_COMPARE], { dataDir: await tempDataDir() });
  assert.match(text.stdout, /^not checked .*dividend-2025-04\.xml\.fixture/m);
  assert.doesNotMatch(text.stdout, /balance/);
});

Deno.test("a CashReport with only its BASE_SUMMARY is the books of the statement's one currency when every row is at fxRateToBase 1 (PP File24: dividends and an advisor fee)", async () => {
  const file = "../shared/flex-samples/portfolio-performance/testIBFlexStatementFile24.xml";
  const run = await runCli(["--json", "verify-books", file], { dataDir: await tempDataDir() });
  assert.equal(run.code, 0, showRun(run));
  const [statement] = parseJson<BooksReport>(run).statements;
  assert.equal(statement.outcome, "balanced");
  assert.deepEqual(
    statement.cash!.map((c) => [c.currency, c.basis, c.ibkr, c.mapped]),
    [["USD", "BASE_SUMMARY", "208.43", "208.43"]],
  );
});

Deno.test("VAT on market-data fees balances the salesTax column (PP File17, BASE_SUMMARY only)", async () => {
  const file = "../shared/flex-samples/portfolio-performance/testIBFlexStatementFile17.xml";
  const run = await runCli(["--json", "verify-books", file], { dataDir: await tempDataDir() });
  assert.equal(run.code, 0, showRun(run));
  const [usd] = parseJson<BooksReport>(run).statements[0].cash!;
  assert.deepEqual(
    usd.categories.filter((k) => k.category === "salesTax" || k.category === "otherFees")
      .map((k) => [k.category, k.ibkr, k.mapped]),
    [["otherFees", "-4.5", "-4.5"], ["salesTax", "-0.9", "-0.9"]],
  );
});
