import assert from "node:assert/strict";
import type { BooksReport } from "../../src/app/verify_books.ts";
import { FIXTURE, parseJson, runCli, showRun, tempDataDir } from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
// PP File14: CHF base, EBS/ARCA/NASDAQ trades, two IDEALFX conversions, a CashReport.
const FX_SAMPLE = "../shared/flex-samples/portfolio-performance/testIBFlexStatementFile14.xml";

Deno.test("verify-books balances a statement with FX conversions to the cent, currency by currency, and exits 0", async () => {
  const run = await runCli(["--json", "verify-books", FX_SAMPLE], { dataDir: await tempDataDir() });
  assert.equal(run.code, 0, showRun(run));
  const report = parseJson<BooksReport>(run);
  assert.equal(report.balanced, true);
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
  assert.equal(statement.balanced, false);
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
