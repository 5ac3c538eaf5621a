/**
 * `backfill`, `status` and `activities` as a user sees them: the real CLI, run as a subprocess
 * with the binary's permissions, on the bundled sample statement.
 */
import assert from "node:assert/strict";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { StatusReport } from "../../src/app/status.ts";
import type { ActivityView } from "../../src/cli/output.ts";
import { acquireRunLock } from "../../src/journal/lock.ts";
import { VERSION } from "../../src/version.ts";
import {
  type CliResult,
  exists,
  FIXTURE,
  journalFile,
  lines,
  parseJson,
  runCli,
  sha256OfFile,
  showRun,
  tempDataDir,
} from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
const K = (id: string) => `ibkr:U1234567:${id}`;

/** The documented `--json` shape of a mapped activity (docs/cli.md, ActivityView). */
const ACTIVITY_FIELDS = [
  "key",
  "account",
  "activityType",
  "subtype",
  "date",
  "symbol",
  "exchangeMic",
  "isin",
  "conid",
  "quantity",
  "unitPrice",
  "amount",
  "fee",
  "currency",
  "notes",
  "groupKey",
  "metadata",
  "state",
  "reason",
].sort();

const DECIMAL_FIELDS = ["quantity", "unitPrice", "amount", "fee"] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Every row of the fixture that must end up in the journal, mapped or skipped. */
const FIXTURE_KEYS = [
  K("31000001"), // AAPL BUY
  K("31000002"), // VUAG BUY (GBP, LSEETF)
  K("31000003"), // BRK B BUY (USD, commission in GBP)
  K("31000003:commission"),
  K("31000004"), // AAPL SELL
  K("31000005:out"), // GBP.USD FX trade: GBP out
  K("31000005:in"), // … USD in
  K("31000005:commission"), // … FX commission in GBP
  K("32000001"), // deposit
  K("32000002"), // dividend
  K("32000003"), // withholding tax
  K("32000004"), // interest
  K("32000005"), // other fees
  K("32000006"), // Fees Rebate: skipped
].sort();

// One journal of the fixture, shared by the tests that only read it.
let shared: Promise<{ dataDir: string; backfill: CliResult }> | undefined;
function sharedJournal(): Promise<{ dataDir: string; backfill: CliResult }> {
  shared ??= (async () => {
    const dataDir = await tempDataDir();
    const backfill = await runCli(["--json", "backfill", FIXTURE], { dataDir, env: GUARD });
    assert.equal(backfill.code, 0, showRun(backfill));
    return { dataDir, backfill };
  })();
  return shared;
}

async function activities(dataDir: string, filters: string[] = []): Promise<ActivityView[]> {
  const result = await runCli(["--json", "activities", ...filters], { dataDir });
  assert.equal(result.code, 0, showRun(result));
  return parseJson<ActivityView[]>(result);
}

function byKey(rows: readonly ActivityView[]): Map<string, ActivityView> {
  return new Map(rows.map((r) => [r.key, r]));
}

function keysOf(rows: readonly ActivityView[]): string[] {
  return rows.map((r) => r.key).sort();
}

/** Asserts the one-line `broker-sync: ` message a refused run must end with; returns it. */
function assertOneErrorLine(result: CliResult): string {
  const all = lines(result.stderr);
  const messages = all.filter((l) => l.startsWith("broker-sync: "));
  assert.equal(messages.length, 1, `expected one "broker-sync: " line\n${showRun(result)}`);
  assert.equal(all.at(-1), messages[0], `the message must be the last line\n${showRun(result)}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  return messages[0];
}

// ---- backfill ---------------------------------------------------------------------------------

Deno.test("backfill of the sample statement journals every row: exit 0 and one entry per row", async () => {
  const { dataDir, backfill } = await sharedJournal();
  const result = parseJson<BackfillResult>(backfill);
  assert.equal(result.files.length, 1);
  assert.equal(result.files[0].outcome, "journaled");
  assert.equal(typeof result.runId, "number");
  assert.deepEqual(keysOf(await activities(dataDir)), FIXTURE_KEYS);
});

Deno.test("activities --json gives mapped rows exactly the documented fields", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir);
  const mapped = rows.filter((r) => r.state !== "skipped");
  assert.equal(mapped.length, 13);
  for (const row of mapped) {
    assert.deepEqual(Object.keys(row).sort(), ACTIVITY_FIELDS, `fields of ${row.key}`);
    assert.equal(row.account, "U1234567");
    assert.equal(row.state, "pending");
    assert.equal(row.reason, null);
  }
});

Deno.test("activities --json writes every decimal as a string, never a JSON number", async () => {
  const { dataDir } = await sharedJournal();
  const result = await runCli(["--json", "activities"], { dataDir });
  assert.equal(result.code, 0, showRun(result));
  // No JSON number anywhere in the document: amounts must survive any JSON parser exactly.
  const numbers: string[] = [];
  JSON.parse(result.stdout, (key, value) => {
    if (typeof value === "number") numbers.push(`${key}=${value}`);
    return value;
  });
  assert.deepEqual(numbers, []);
  for (const row of parseJson<ActivityView[]>(result)) {
    for (const field of DECIMAL_FIELDS) {
      const value = row[field];
      if (value !== null) {
        assert.equal(typeof value, "string", `${row.key}.${field}`);
        assert.match(value, /^-?\d+(\.\d+)?$/, `${row.key}.${field} is a plain decimal`);
      }
    }
  }
  const aapl = byKey(parseJson<ActivityView[]>(result)).get(K("31000001"))!;
  assert.equal(aapl.quantity, "10");
  assert.equal(aapl.unitPrice, "228.26");
  assert.equal(aapl.fee, "1.0005");
});

Deno.test("activity dates are RFC3339 with an offset and keep IBKR's business date", async () => {
  const { dataDir } = await sharedJournal();
  const rows = byKey(await activities(dataDir));
  const businessDates: Record<string, string> = {
    [K("31000001")]: "2025-01-15",
    [K("31000002")]: "2025-02-03",
    [K("31000003")]: "2025-03-10",
    [K("31000003:commission")]: "2025-03-10",
    [K("31000004")]: "2025-05-20",
    [K("32000001")]: "2025-01-06",
    [K("32000002")]: "2025-02-13",
    [K("32000003")]: "2025-02-13",
    [K("32000004")]: "2025-04-03",
    [K("32000005")]: "2025-06-03",
  };
  for (const [key, date] of Object.entries(businessDates)) {
    const row = rows.get(key);
    assert.ok(row, `${key} is journaled`);
    assert.match(row.date ?? "", RFC3339, `${key} date ${row.date}`);
    assert.equal(row.date!.slice(0, 10), date, `${key} date part`);
    // Wealthfolio shows the UTC day: it must be the business date too.
    assert.equal(new Date(row.date!).toISOString().slice(0, 10), date, `${key} UTC day`);
  }
});

Deno.test("the dividend paid at 20:20 ET on 2025-02-13 stays on 2025-02-13", async () => {
  const { dataDir } = await sharedJournal();
  const dividend = byKey(await activities(dataDir)).get(K("32000002"))!;
  assert.equal(dividend.activityType, "DIVIDEND");
  assert.equal(dividend.symbol, "AAPL");
  assert.equal(dividend.amount, "2.5");
  assert.equal(dividend.currency, "USD");
  assert.equal(new Date(dividend.date!).toISOString().slice(0, 10), "2025-02-13");
});

Deno.test("an LSE ETF bought in GBP is booked as VUAG.L on XLON at the price IBKR reported", async () => {
  const { dataDir } = await sharedJournal();
  const vuag = byKey(await activities(dataDir)).get(K("31000002"))!;
  assert.equal(vuag.activityType, "BUY");
  assert.equal(vuag.symbol, "VUAG.L");
  assert.equal(vuag.exchangeMic, "XLON");
  assert.equal(vuag.currency, "GBP");
  assert.equal(vuag.unitPrice, "92.1425");
  assert.equal(vuag.quantity, "25");
  assert.equal(vuag.fee, "3");
  assert.equal(vuag.isin, "IE00BFMXXD54");
});

Deno.test("a share class 'BRK B' is booked as BRK-B", async () => {
  const { dataDir } = await sharedJournal();
  const brk = byKey(await activities(dataDir)).get(K("31000003"))!;
  assert.equal(brk.activityType, "BUY");
  assert.equal(brk.symbol, "BRK-B");
  assert.equal(brk.exchangeMic, "XNYS");
  assert.equal(brk.currency, "USD");
});

Deno.test("a GBP commission on a USD trade is a separate GBP FEE, not part of the USD price", async () => {
  const { dataDir } = await sharedJournal();
  const rows = byKey(await activities(dataDir));
  const trade = rows.get(K("31000003"))!;
  assert.equal(trade.fee, "0", "the USD trade carries no GBP commission");
  const fee = rows.get(K("31000003:commission"));
  assert.ok(fee, "the commission leg is journaled");
  assert.equal(fee.activityType, "FEE");
  assert.equal(fee.amount, "1.25");
  assert.equal(fee.currency, "GBP");
  assert.equal(fee.symbol, null, "a cash activity carries no symbol");
});

Deno.test("the SUMMARY duplicate of a dividend (accountId '-') is not journaled", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir);
  const dividends = rows.filter((r) => r.activityType === "DIVIDEND");
  assert.deepEqual(dividends.map((r) => r.key), [K("32000002")], "one dividend, not two");
  assert.ok(rows.every((r) => r.account === "U1234567"), "no row of account '-'");
  const result = parseJson<BackfillResult>((await sharedJournal()).backfill);
  assert.equal(result.files[0].mapping?.ignored["cash-summary-duplicate"], 1);
});

Deno.test("an unknown cash type is skipped with reason unknown-cash-type:<type>", async () => {
  const { dataDir } = await sharedJournal();
  const rebate = byKey(await activities(dataDir)).get(K("32000006"))!;
  assert.equal(rebate.state, "skipped");
  assert.equal(rebate.activityType, null);
  assert.equal(rebate.reason, "unknown-cash-type:Fees Rebate");
});

Deno.test("an FX trade (GBP.USD) is two linked cash legs and a GBP fee, never a security BUY or SELL", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir);
  const legs = byKey(rows);
  const out = legs.get(K("31000005:out"))!;
  const into = legs.get(K("31000005:in"))!;
  const fee = legs.get(K("31000005:commission"))!;
  assert.deepEqual([out.activityType, out.amount, out.currency, out.symbol], [
    "TRANSFER_OUT",
    "2000",
    "GBP",
    null,
  ]);
  assert.deepEqual([into.activityType, into.amount, into.currency, into.symbol], [
    "TRANSFER_IN",
    "2441",
    "USD",
    null,
  ]);
  assert.deepEqual([fee.activityType, fee.amount, fee.currency], ["FEE", "1.6", "GBP"]);
  assert.equal(out.groupKey, K("31000005"));
  assert.equal(into.groupKey, K("31000005"));
  const trades = rows.filter((r) => r.activityType === "BUY" || r.activityType === "SELL");
  assert.ok(trades.every((r) => r.symbol !== "GBP.USD" && r.symbol !== "GBP-USD"));
});

Deno.test("re-running the same backfill is a no-op: journal bytes unchanged, says already journaled", async () => {
  const { dataDir } = await sharedJournal();
  const before = await sha256OfFile(journalFile(dataDir));
  const text = await runCli(["backfill", FIXTURE], { dataDir, env: GUARD });
  assert.equal(text.code, 0, showRun(text));
  assert.match(text.stdout, /already journaled/);
  assert.match(text.stdout, /\(unchanged\)/);
  const json = await runCli(["--json", "backfill", FIXTURE], { dataDir, env: GUARD });
  assert.equal(json.code, 0, showRun(json));
  const result = parseJson<BackfillResult>(json);
  assert.equal(result.runId, null);
  assert.deepEqual(result.files.map((f) => f.outcome), ["already-journaled"]);
  assert.equal(await sha256OfFile(journalFile(dataDir)), before);
  assert.deepEqual(keysOf(await activities(dataDir)), FIXTURE_KEYS);
});

Deno.test("backfill of a directory takes its *.xml files, also in subdirectories, and nothing else", async () => {
  const statements = await tempDataDir("broker-sync-statements-");
  await Deno.mkdir(`${statements}/2026`);
  await Deno.copyFile(FIXTURE, `${statements}/U1234567-2025.xml`);
  // A second statement with other transaction ids, one level down.
  const fixture = await Deno.readTextFile(FIXTURE);
  await Deno.writeTextFile(
    `${statements}/2026/U1234567-2026.xml`,
    fixture.replaceAll('transactionID="3100000', 'transactionID="3300000'),
  );
  // Not statements: would be refused if they were read.
  await Deno.writeTextFile(`${statements}/notes.txt`, "not a statement <");
  await Deno.writeTextFile(`${statements}/statement.xml.bak`, "<html>");
  const dataDir = await tempDataDir();
  const run = await runCli(["--json", "backfill", statements], { dataDir, env: GUARD });
  assert.equal(run.code, 0, showRun(run));
  const result = parseJson<BackfillResult>(run);
  assert.deepEqual(
    result.files.map((f) => [f.path.slice(statements.length), f.outcome]).sort(),
    [["/2026/U1234567-2026.xml", "journaled"], ["/U1234567-2025.xml", "journaled"]],
  );
  const keys = keysOf(await activities(dataDir));
  assert.ok(keys.includes(K("31000002")) && keys.includes(K("33000002")), keys.join(" "));
});

Deno.test("backfill of a directory without XML exits 3 with one line naming it, and creates no journal", async () => {
  const empty = await tempDataDir("broker-sync-no-xml-");
  await Deno.writeTextFile(`${empty}/readme.txt`, "nothing here");
  const dataDir = await tempDataDir();
  const run = await runCli(["backfill", empty], { dataDir, env: GUARD });
  assert.equal(run.code, 3, showRun(run));
  assert.match(assertOneErrorLine(run), new RegExp(`^broker-sync: ${empty}\\b`));
  assert.equal(run.stdout, "");
  assert.equal(await exists(journalFile(dataDir)), false);
});

Deno.test("backfill of a file that does not exist exits 3 with one line naming it", async () => {
  const dataDir = await tempDataDir();
  const missing = `${dataDir}/no-such-statement.xml`;
  const run = await runCli(["backfill", missing], { dataDir, env: GUARD });
  assert.equal(run.code, 3, showRun(run));
  assert.ok(assertOneErrorLine(run).includes(missing));
  assert.equal(await exists(journalFile(dataDir)), false);
});

Deno.test("the journal file is created with mode 0600, in a data dir created 0700", async () => {
  const { dataDir } = await sharedJournal();
  const info = await Deno.stat(journalFile(dataDir));
  assert.equal((info.mode ?? 0) & 0o777, 0o600);
  const fresh = `${await tempDataDir()}/new/data`;
  const run = await runCli(["backfill", FIXTURE], { dataDir: fresh, env: GUARD });
  assert.equal(run.code, 0, showRun(run));
  assert.equal(((await Deno.stat(fresh)).mode ?? 0) & 0o777, 0o700);
  assert.equal(((await Deno.stat(journalFile(fresh))).mode ?? 0) & 0o777, 0o600);
});

// ---- status -----------------------------------------------------------------------------------

Deno.test("status --json after backfill: statements, the account's period, counts by state and type, skips", async () => {
  const { dataDir } = await sharedJournal();
  const run = await runCli(["--json", "status"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
  const status = parseJson<StatusReport>(run);
  assert.equal(status.exists, true);
  assert.equal(status.journal, journalFile(dataDir));
  assert.equal(status.statements.documents, 1);
  assert.equal(status.statements.bytes, (await Deno.stat(FIXTURE)).size);
  assert.deepEqual(status.statements.accounts, [
    { accountId: "U1234567", periods: 1, fromDate: "2025-01-02", toDate: "2025-06-30" },
  ]);
  const counts = Object.fromEntries(
    status.activities.map((c) => [`${c.state} ${c.type}`, c.count]),
  );
  assert.deepEqual(counts, {
    "pending BUY": 3,
    "pending SELL": 1,
    "pending FEE": 3,
    "pending TRANSFER_IN": 1,
    "pending TRANSFER_OUT": 1,
    "pending DEPOSIT": 1,
    "pending DIVIDEND": 1,
    "pending TAX": 1,
    "pending INTEREST": 1,
  });
  assert.deepEqual(
    [...status.skipped].sort((a, b) => a.reason.localeCompare(b.reason)),
    [
      { reason: "unknown-cash-type:Fees Rebate", count: 1 },
    ],
  );
  assert.ok(status.runs.length >= 1);
  const first = status.runs.at(-1)!;
  assert.equal(first.command, "backfill");
  assert.equal(first.outcome, "ok");
  assert.equal(first.exitCode, 0);
});

Deno.test("status on a data dir without a journal says so and creates nothing", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["--json", "status"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
  assert.equal(parseJson<StatusReport>(run).exists, false);
  assert.equal(await exists(journalFile(dataDir)), false);
});

// ---- activities filters -----------------------------------------------------------------------

Deno.test("activities --state skipped lists only the skipped rows, with their reasons", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir, ["--state", "skipped"]);
  assert.deepEqual(keysOf(rows), [K("32000006")]);
  assert.ok(rows.every((r) => r.state === "skipped" && r.reason !== null));
});

Deno.test("activities --type BUY lists only the buys", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir, ["--type", "BUY"]);
  assert.deepEqual(keysOf(rows), [K("31000001"), K("31000002"), K("31000003")]);
  assert.ok(rows.every((r) => r.activityType === "BUY"));
});

Deno.test("activities --from/--to keep business dates within the bounds, both inclusive", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir, ["--from", "2025-02-03", "--to", "2025-03-10"]);
  assert.deepEqual(keysOf(rows), [
    K("31000002"),
    K("31000003"),
    K("31000003:commission"),
    K("32000002"),
    K("32000003"),
  ]);
  const dates = rows.map((r) => r.date!.slice(0, 10)).sort();
  assert.equal(dates[0], "2025-02-03");
  assert.equal(dates.at(-1), "2025-03-10");
});

Deno.test("activities --symbol VUAG.L lists only that security", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir, ["--symbol", "VUAG.L"]);
  assert.deepEqual(keysOf(rows), [K("31000002")]);
});

Deno.test("activities --reason matches a skip reason or its prefix, taken literally", async () => {
  const { dataDir } = await sharedJournal();
  assert.deepEqual(keysOf(await activities(dataDir, ["--reason", "unknown-cash-type"])), [
    K("32000006"),
  ]);
  assert.deepEqual(
    keysOf(await activities(dataDir, ["--reason", "unknown-cash-type:Fees Rebate"])),
    [K("32000006")],
  );
  // `_` and `%` are characters of a reason, not wildcards.
  assert.deepEqual(keysOf(await activities(dataDir, ["--reason", "unknown_cash_type"])), []);
  assert.deepEqual(keysOf(await activities(dataDir, ["--reason", "%"])), []);
});

Deno.test("activities filters combine: --type FEE --to 2025-03-31 gives only the commissions until March", async () => {
  const { dataDir } = await sharedJournal();
  const rows = await activities(dataDir, ["--type", "FEE", "--to", "2025-03-31"]);
  assert.deepEqual(keysOf(rows), [K("31000003:commission"), K("31000005:commission")]);
});

// ---- account guard ----------------------------------------------------------------------------

Deno.test("account guard: a statement of another account exits 4, names both ids, writes nothing", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["backfill", FIXTURE], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U7654321" },
  });
  assert.equal(run.code, 4, showRun(run));
  const message = assertOneErrorLine(run);
  assert.ok(message.includes("U1234567"), message);
  assert.ok(message.includes("U7654321"), message);
  assert.ok(message.includes("nothing was written"), message);
  assert.equal(await exists(journalFile(dataDir)), false);
});

Deno.test("account guard: --account overrides IBKR_ACCOUNT_ID_UPSTREAM", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["--account", "U1234567", "backfill", FIXTURE], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U7654321" },
  });
  assert.equal(run.code, 0, showRun(run));
  assert.equal(await exists(journalFile(dataDir)), true);
});

Deno.test("account guard: a comma-separated list accepts any of its accounts", async () => {
  const fromEnv = await tempDataDir();
  const viaEnv = await runCli(["backfill", FIXTURE], {
    dataDir: fromEnv,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U7654321,U1234567" },
  });
  assert.equal(viaEnv.code, 0, showRun(viaEnv));
  const fromFlag = await tempDataDir();
  const viaFlag = await runCli(["--account", "U7654321, U1234567", "backfill", FIXTURE], {
    dataDir: fromFlag,
  });
  assert.equal(viaFlag.code, 0, showRun(viaFlag));
});

// ---- the run lock -----------------------------------------------------------------------------

Deno.test("a second run while the journal lock is held exits 5 at once and changes nothing", async () => {
  const dataDir = await tempDataDir();
  const lock = acquireRunLock(dataDir);
  try {
    const started = performance.now();
    const run = await runCli(["backfill", FIXTURE], { dataDir, env: GUARD });
    const elapsed = performance.now() - started;
    assert.equal(run.code, 5, showRun(run));
    const message = assertOneErrorLine(run);
    assert.match(message, /lock/);
    assert.match(message, /did nothing/);
    assert.ok(elapsed < 4000, `exited after ${Math.round(elapsed)} ms: it must not wait`);
    assert.equal(await exists(journalFile(dataDir)), false);
  } finally {
    lock.release();
  }
  const after = await runCli(["backfill", FIXTURE], { dataDir, env: GUARD });
  assert.equal(after.code, 0, `the lock is gone once released\n${showRun(after)}`);
});

// ---- usage ------------------------------------------------------------------------------------

/** Asserts a usage error: exit 2, nothing on stdout, one line saying what is wrong. */
function assertUsageError(run: CliResult, mentions: string): void {
  assert.equal(run.code, 2, showRun(run));
  assert.equal(run.stdout, "", "nothing on stdout");
  // One `broker-sync: ` line saying what is wrong, like every other refusal.
  const problems = lines(run.stderr);
  assert.equal(problems.length, 1, `one line on stderr\n${showRun(run)}`);
  assert.match(problems[0], /^broker-sync: /, showRun(run));
  assert.ok(problems[0].includes(mentions), `the line names ${mentions}\n${showRun(run)}`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
}

Deno.test("an unknown flag exits 2 with one line naming it", async () => {
  const dataDir = await tempDataDir();
  for (const args of [["--bogus"], ["backfill", "--bogus", FIXTURE], ["status", "--bogus"]]) {
    assertUsageError(await runCli(args, { dataDir }), "--bogus");
  }
  assert.equal(await exists(journalFile(dataDir)), false);
});

Deno.test("an unknown command exits 2 with one line naming it", async () => {
  assertUsageError(await runCli(["frobnicate"]), "frobnicate");
});

Deno.test("an invalid --type choice exits 2 with one line naming the value", async () => {
  assertUsageError(await runCli(["activities", "--type", "PURCHASE"]), "PURCHASE");
});

Deno.test("a malformed --from date exits 2 with one line naming the value", async () => {
  assertUsageError(await runCli(["activities", "--from", "2025-1-1"]), "2025-1-1");
});

Deno.test("a non-positive --limit exits 2 with one line naming the value", async () => {
  assertUsageError(await runCli(["activities", "--limit", "0"]), '"0"');
});

Deno.test("an invalid IBKR_ACCOUNT_ID_UPSTREAM exits 2 with one line naming it", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["backfill", FIXTURE], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U123;rm -rf" },
  });
  assert.equal(run.code, 2, showRun(run));
  assert.match(assertOneErrorLine(run), /IBKR_ACCOUNT_ID_UPSTREAM/);
  assert.equal(await exists(journalFile(dataDir)), false);
});

for (const command of [[], ["backfill"], ["status"], ["activities"]]) {
  const name = ["broker-sync", ...command].join(" ");
  Deno.test(`${name} --help exits 0 and prints its usage`, async () => {
    const run = await runCli([...command, "--help"]);
    assert.equal(run.code, 0, showRun(run));
    assert.ok(run.stdout.includes(`Usage: ${name} `), showRun(run));
    assert.doesNotMatch(run.stderr, /error/i);
  });
}

Deno.test("--version prints the version", async () => {
  const run = await runCli(["--version"]);
  assert.equal(run.code, 0, showRun(run));
  assert.equal(run.stdout.trim(), VERSION);
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version, "the printed version is the package's version");
});
