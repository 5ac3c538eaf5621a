/**
 * Reconciliation end to end over real parts: statements journaled by the real CLI, their
 * activities in the Wealthfolio stand-in (over loopback HTTP, with a login), holdings read and
 * compared, the result in the journal and in a real Pushgateway, and `status` showing it.
 *
 * These tests run the command's body, `runReconcileCommand`, in-process, so that the settle loop
 * and the stand-in's recalculation can share a virtual clock; tests/cli/sync_test.ts runs
 * `reconcile` and `sync` through the CLI.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import type { AccountPair } from "../../src/app/reconcile.ts";
import { loadConfig } from "../../src/cli/config.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { classify } from "../../src/cli/failure.ts";
import {
  type ReconcileCommand,
  type ReconcileCommandResult,
  runReconcileCommand,
} from "../../src/cli/reconcile_command.ts";
import { reconcileText } from "../../src/cli/reconcile_output.ts";
import { journalPath } from "../../src/journal/db.ts";
import { WealthfolioClient } from "../../src/wealthfolio/client.ts";
import { FIXTURE, parseJson, runCli, showRun, tempDataDir } from "../cli/run_cli.ts";
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../standins/wealthfolio.ts";
import { type Pushgateway, samplesOf, startPushgateway } from "../support/pushgateway.ts";
import { consistentStatement } from "../support/statements.ts";
import { pushJournal, wealthfolioCall, wealthfolioLogin } from "../support/wealthfolio_seed.ts";

/** Parsed `--json` output, read field by field. */
// deno-lint-ignore no-explicit-any
type Json = any;

const PASSWORD = "reconcile-test-password";
const ACCOUNT = "U1234567";

/** The consistent variant of the bundled statement, as a file. */
async function consistentStatementFile(dir: string): Promise<string> {
  const path = `${dir}/consistent-2025.xml`;
  await Deno.writeTextFile(path, consistentStatement(), { mode: 0o600 });
  return path;
}

interface World {
  readonly dataDir: string;
  readonly wf: WealthfolioStandIn;
  readonly pg: Pushgateway;
  readonly token: string;
  readonly pair: AccountPair;
  /** A clock shared by the stand-in's recalculation and the settle loop; sleeping advances it. */
  readonly time: { now: number };
  reconcile(over?: Partial<ReconcileCommand>): Promise<ReconcileCommandResult>;
  scrape(name: string, labels?: Record<string, string>): Promise<[string, number][]>;
}

async function withWorld(
  options: { statement: "consistent" | "bundled"; recalcLagMs?: number },
  work: (w: World) => Promise<void>,
): Promise<void> {
  const dataDir = await tempDataDir("broker-sync-reconcile-");
  const statement = options.statement === "bundled"
    ? FIXTURE
    : await consistentStatementFile(dataDir);
  const backfill = await runCli(["backfill", statement], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT },
  });
  assert.equal(backfill.code, 0, showRun(backfill));

  const time = { now: Date.parse("2026-06-01T02:00:00Z") };
  const wf = await startWealthfolioStandIn({
    password: PASSWORD,
    recalcLagMs: options.recalcLagMs ?? 0,
    clock: () => time.now,
  });
  const pg = await startPushgateway();
  try {
    const account = wf.addAccount({ name: "IBKR", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const token = await wealthfolioLogin(wf.baseUrl, PASSWORD);
    await pushJournal(wf.baseUrl, token, dataDir, { [ACCOUNT]: account.id });
    const pair = { ibkr: ACCOUNT, wealthfolio: account.id };
    // One client (one login) for the world, as one reconcile run would have.
    const client = new WealthfolioClient({
      baseUrl: wf.baseUrl,
      password: PASSWORD,
      sessionFile: null,
      persistSession: false,
    });
    await work({
      dataDir,
      wf,
      pg,
      token,
      pair,
      time,
      reconcile: (over = {}) => {
        const env: Record<string, string> = { PUSHGATEWAY_URL: pg.url };
        return runReconcileCommand({
          config: loadConfig({ dataDir }, (name) => env[name]),
          accounts: [pair],
          holdings: client,
          json: true,
          failOnDrift: true,
          settle: {
            intervalMs: 2000,
            deadlineMs: 60_000,
            clock: () => time.now,
            sleep: (ms) => {
              time.now += ms;
              return Promise.resolve();
            },
          },
          out: { text: () => {}, json: () => {} },
          ...over,
        });
      },
      scrape: async (name, labels = {}) =>
        samplesOf(await pg.scrape(), name, { job: "broker-sync-ibkr", account: ACCOUNT, ...labels })
          .map((
            s,
          ) => [
            s.labels.symbol ?? s.labels.currency ?? s.labels.state ?? s.labels.reason ?? "",
            s.value,
          ]),
    });
  } finally {
    await pg.stop();
    await wf.close();
  }
}

function journalRows(dataDir: string): Record<string, unknown>[] {
  const db = new DatabaseSync(journalPath(dataDir), { readOnly: true });
  try {
    return db.prepare(
      `SELECT run_id, kind, item, symbol, broker_value, wf_value, drift, outcome FROM reconciliations
       ORDER BY run_id, kind DESC, symbol`,
    ).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

Deno.test("a consistent statement reconciles to zero drift; journal, Pushgateway and status all say so", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    const result = await w.reconcile();
    assert.equal(result.exitCode, EXIT.OK, reconcileText(result.report));
    assert.equal(result.report.drift, false);
    const [account] = result.report.accounts;
    assert.equal(account.holdingsReads, 2);
    assert.equal(account.unpushedActivities, 0);
    assert.deepEqual(
      account.positions.map((
        p,
      ) => [p.symbol, p.ibkr?.toFixed(), p.wealthfolio?.toFixed(), p.outcome]),
      [["AAPL", "7", "7", "ok"], ["BRK-B", "4", "4", "ok"], ["VUAG.L", "25", "25", "ok"]],
    );
    assert.deepEqual(
      account.cash.map((c) => [c.currency, c.ibkr?.toFixed(), c.wealthfolio?.toFixed(), c.outcome]),
      [["GBP", "694.7575", "694.7575", "ok"], ["USD", "-1271.9017", "-1271.9017", "ok"]],
    );

    const rows = journalRows(w.dataDir);
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => r.outcome === "ok" && r.drift === "0"), JSON.stringify(rows));
    assert.deepEqual(rows.map((r) => r.item), [
      "conid:265598",
      "conid:72063691",
      "conid:128687390",
      "GBP",
      "USD",
    ]);

    assert.deepEqual(await w.scrape("ibkr_position_drift_shares"), [
      ["AAPL", 0],
      ["BRK-B", 0],
      ["VUAG.L", 0],
    ]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_activities"), [["pushed", 13]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code", { command: "reconcile" }), [["", 0]]);
    // No sync has ever succeeded: the metric is absent rather than a made-up time.
    assert.deepEqual(await w.scrape("ibkr_sync_last_success_timestamp_seconds"), []);

    const status = await runCli(["--json", "status"], { dataDir: w.dataDir });
    const report = parseJson<Json>(status);
    assert.equal(report.lastReconciliation.runId, result.report.runId);
    assert.deepEqual(report.lastReconciliation.accounts[0], {
      accountId: ACCOUNT,
      wealthfolioAccountId: w.pair.wealthfolio,
      statementToDate: "2025-06-30",
      positions: 3,
      positionDrifts: 0,
      currencies: 2,
      cashDrifts: 0,
      drifts: [],
    });
    assert.equal(report.lastSuccessfulSync, null);
  });
});

Deno.test("an inconsistent statement reports the exact drift, and a run after the fix shows it gone", async () => {
  await withWorld({ statement: "bundled" }, async (w) => {
    // Someone also booked a holding by hand in Wealthfolio that IBKR does not have.
    const manual = await wealthfolioCall(w.wf.baseUrl, w.token, "POST", "/activities", {
      accountId: w.pair.wealthfolio,
      activityType: "TRANSFER_IN",
      activityDate: "2025-03-01T00:00:00Z",
      symbol: { symbol: "VWRP.L", exchangeMic: "XLON", quoteCcy: "GBP" },
      quantity: "12.5",
      unitPrice: "100",
      currency: "GBP",
    }) as { id: string };

    const first = await w.reconcile();
    assert.equal(first.exitCode, EXIT.DRIFT);
    const [account] = first.report.accounts;
    assert.deepEqual(
      account.cash.map((c) => [c.currency, c.drift.toFixed(), c.outcome]),
      // The skipped "Fees Rebate" (+0.5 GBP) is in IBKR's cash, not in Wealthfolio's.
      [["GBP", "0.5", "differs"], ["USD", "0", "ok"]],
    );
    assert.deepEqual(
      account.positions.filter((p) => p.outcome !== "ok").map((p) => [
        p.symbol,
        p.drift.toFixed(),
        p.outcome,
      ]),
      [["VWRP.L", "-12.5", "only-in-wealthfolio"]],
    );
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0.5], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_position_drift_shares", { symbol: "VWRP.L" }), [[
      "VWRP.L",
      -12.5,
    ]]);
    assert.deepEqual(await w.scrape("ibkr_skipped_rows"), [["unknown-cash-type:Fees Rebate", 1]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code", { command: "reconcile" }), [[
      "",
      EXIT.DRIFT,
    ]]);

    const status = parseJson<Json>(
      await runCli(["--json", "status"], { dataDir: w.dataDir }),
    );
    assert.deepEqual(
      status.lastReconciliation.accounts[0].drifts.map((d: Record<string, string>) => [
        d.kind,
        d.symbol,
        d.brokerValue,
        d.wfValue,
        d.drift,
      ]),
      [["position", "VWRP.L", null, "12.5", "-12.5"], [
        "cash",
        "GBP",
        "695.2575",
        "694.7575",
        "0.5",
      ]],
    );
    const text = await runCli(["status"], { dataDir: w.dataDir });
    assert.match(text.stdout, /last reconciliation: .* \(run \d+, reconcile\)/);
    assert.match(text.stdout, /cash GBP: IBKR 695\.2575, Wealthfolio 694\.7575, drift 0\.5/);

    // The operator fixes Wealthfolio: the manual holding goes, the rebate is booked.
    await wealthfolioCall(w.wf.baseUrl, w.token, "DELETE", `/activities/${manual.id}`);
    await wealthfolioCall(w.wf.baseUrl, w.token, "POST", "/activities", {
      accountId: w.pair.wealthfolio,
      activityType: "CREDIT",
      subtype: "REBATE",
      activityDate: "2025-06-10T20:20:00Z",
      amount: "0.5",
      currency: "GBP",
    });
    const second = await w.reconcile();
    assert.equal(second.exitCode, EXIT.OK, reconcileText(second.report));
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_position_drift_shares"), [
      ["AAPL", 0],
      ["BRK-B", 0],
      ["VUAG.L", 0],
    ]);
    // Both runs stay in the journal; the latest is the one status shows.
    const runs = new Set(journalRows(w.dataDir).map((r) => r.run_id));
    assert.equal(runs.size, 2);
  });
});

Deno.test("without --fail-on-drift, drift is reported and recorded but the exit code is 0", async () => {
  await withWorld({ statement: "bundled" }, async (w) => {
    let printed: unknown;
    const result = await w.reconcile({
      failOnDrift: false,
      out: { text: () => {}, json: (v) => (printed = v) },
    });
    assert.equal(result.exitCode, EXIT.OK);
    const json = printed as Json;
    assert.equal(json.drift, true);
    assert.deepEqual(json.accounts[0].cash[0], {
      currency: "GBP",
      ibkr: "695.2575",
      wealthfolio: "694.7575",
      drift: "0.5",
      outcome: "differs",
    });
    assert.deepEqual(json.metrics, {
      pushed: true,
      groups: [`${w.pg.url}/metrics/job/broker-sync-ibkr/account/${ACCOUNT}`],
    });
  });
});

Deno.test("the human table names each drifted line with both sides, and what is still unpushed", async () => {
  await withWorld({ statement: "bundled" }, async (w) => {
    // One journaled activity never reached Wealthfolio: the GBP interest of April.
    const key = "ibkr:U1234567:32000004";
    const db = new DatabaseSync(journalPath(w.dataDir));
    db.prepare("UPDATE activities SET state = 'pending' WHERE key = ?").run(key);
    db.close();
    const inWf = w.wf.state.activities.find((a) => a.idempotencyKey === key)!;
    await wealthfolioCall(w.wf.baseUrl, w.token, "DELETE", `/activities/${inWf.id}`);

    let text = "";
    const result = await w.reconcile({
      json: false,
      out: { text: (t) => (text = t), json: () => {} },
    });
    assert.equal(result.exitCode, EXIT.DRIFT);
    // Column widths are the table's business; the words and numbers are what is read.
    const lines = text.split("\n").map((l) => l.trim().replaceAll(/\s+/g, " "));
    assert.match(
      lines[0],
      new RegExp(
        `^U1234567 → Wealthfolio ${w.pair.wealthfolio}: DRIFT \\(statement .*/U1234567-2025\\.xml to 2025-06-30; holdings settled after 2 reads\\)$`,
      ),
    );
    assert.ok(lines.includes("symbol MIC IBKR Wealthfolio drift"), text);
    assert.ok(lines.includes("AAPL XNAS 7 7 0 ok"), text);
    assert.ok(lines.includes("VUAG.L XLON 25 25 0 ok"), text);
    // The unpushed interest (4.17 GBP) and the skipped rebate (0.5 GBP) are both missing.
    assert.ok(lines.includes("GBP 695.2575 690.5875 4.67 DIFFERS"), text);
    assert.ok(lines.includes("USD -1271.9017 -1271.9017 0 ok"), text);
    assert.ok(
      lines.includes(
        "1 activity is not in Wealthfolio yet (pending or failed): drift is expected until it is pushed",
      ),
      text,
    );
    assert.equal(lines.at(-2), "1 of 1 account(s) drift");
  });
});

Deno.test("Wealthfolio still recalculating: reconcile waits for settled holdings instead of reporting phantom drift", async () => {
  await withWorld({ statement: "consistent", recalcLagMs: 1500 }, async (w) => {
    // The push just happened: the stand-in has no snapshot until its 1.5 s debounce has passed.
    const result = await w.reconcile();
    assert.equal(result.report.accounts[0].holdingsReads, 3);
    assert.equal(result.exitCode, EXIT.OK, reconcileText(result.report));
    assert.equal(w.wf.state.recalculations, 1);
  });
});

Deno.test("a failed metrics push is exit 33 and undoes nothing; drift outranks it", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    listener.close();
    const config = loadConfig(
      { dataDir: w.dataDir },
      (n) => (n === "PUSHGATEWAY_URL" ? closed : undefined),
    );
    let printed: Json = {};
    const result = await w.reconcile({
      config,
      out: { text: () => {}, json: (v) => (printed = v as Json) },
    });
    assert.equal(result.exitCode, EXIT.METRICS_PUSH);
    assert.equal(printed.metrics.pushed, false);
    assert.match(
      printed.metrics.error,
      /^Pushgateway PUT http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/broker-sync-ibkr\/account\/U1234567: unreachable/,
    );
    // The reconciliation is in the journal all the same.
    assert.equal(journalRows(w.dataDir).length, 5);

    // With drift and --fail-on-drift, drift is the exit code; the push failure is still reported.
    await wealthfolioCall(w.wf.baseUrl, w.token, "POST", "/activities", {
      accountId: w.pair.wealthfolio,
      activityType: "WITHDRAWAL",
      activityDate: "2025-06-20T00:00:00Z",
      amount: "10",
      currency: "GBP",
    });
    const drifted = await w.reconcile({ config });
    assert.equal(drifted.exitCode, EXIT.DRIFT);
    assert.equal(drifted.metrics.pushed, false);
  });
});

Deno.test("no PUSHGATEWAY_URL: reconcile works and reports that metrics were not pushed", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    let printed: Json = {};
    const result = await w.reconcile({
      config: loadConfig({ dataDir: w.dataDir }, () => undefined),
      out: { text: () => {}, json: (v) => (printed = v as Json) },
    });
    assert.equal(result.exitCode, EXIT.OK);
    assert.deepEqual(printed.metrics, { pushed: false, reason: "PUSHGATEWAY_URL not set" });
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), []);
  });
});

Deno.test("a failed reconciliation records nothing, still pushes its exit code, and keeps the last successful sync", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    // A sync that succeeded earlier (the sync command of a later issue records runs like this).
    const db = new DatabaseSync(journalPath(w.dataDir));
    db.prepare(
      `INSERT INTO runs (command, started_at, finished_at, outcome, exit_code)
       VALUES ('sync', '2026-05-31T01:00:00.000Z', '2026-05-31T01:02:03.000Z', 'ok', 0)`,
    ).run();
    db.close();

    const unknown = { ibkr: "U7654321", wealthfolio: w.pair.wealthfolio };
    const error = await w.reconcile({ accounts: [w.pair, unknown] }).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    const failure = classify(error);
    assert.equal(failure.code, EXIT.NOTHING_TO_RECONCILE);
    assert.match(failure.message, /no journaled statement of account U7654321/);
    assert.deepEqual(journalRows(w.dataDir), []);
    assert.deepEqual(w.wf.requests.filter((r) => r.path.endsWith("/holdings")), []);

    const samples = await w.pg.scrape();
    assert.deepEqual(
      samplesOf(samples, "ibkr_run_exit_code", { account: ACCOUNT }).map((s) => s.value),
      [EXIT.NOTHING_TO_RECONCILE],
    );
    assert.deepEqual(
      samplesOf(samples, "ibkr_sync_last_success_timestamp_seconds", { account: ACCOUNT })
        .map((s) => s.value),
      [Date.parse("2026-05-31T01:02:03Z") / 1000],
    );
    const status = parseJson<Json>(
      await runCli(["--json", "status"], { dataDir: w.dataDir }),
    );
    assert.equal(status.lastReconciliation, null);
    assert.equal(status.lastSuccessfulSync.finishedAt, "2026-05-31T01:02:03.000Z");
  });
});

Deno.test("holdings that never settle are exit 31 and nothing is recorded", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    let n = 0;
    const error = await w.reconcile({
      holdings: {
        holdings: () =>
          Promise.resolve([{
            id: "CASH-x-GBP",
            holdingType: "cash",
            instrumentId: "cash:GBP",
            symbol: "GBP",
            exchangeMic: null,
            currency: "GBP",
            quantity: new Decimal(++n),
          }]),
      },
    }).then(() => assert.fail("expected a failure"), (e: unknown) => e);
    assert.equal(classify(error).code, EXIT.HOLDINGS_UNSETTLED);
    assert.deepEqual(journalRows(w.dataDir), []);
  });
});

Deno.test("a latest statement without OpenPositions is refused (32), never read as holding nothing", async () => {
  await withWorld({ statement: "consistent" }, async (w) => {
    const text = await Deno.readTextFile(`${w.dataDir}/consistent-2025.xml`);
    const later = text
      .replace(/<OpenPositions>[\s\S]*<\/OpenPositions>/, "")
      .replace('toDate="2025-06-30"', 'toDate="2025-07-31"');
    const path = `${w.dataDir}/no-positions.xml`;
    await Deno.writeTextFile(path, later);
    const backfill = await runCli(["backfill", path], { dataDir: w.dataDir });
    assert.equal(backfill.code, 0, showRun(backfill));

    const error = await w.reconcile().then(() => assert.fail("expected a failure"), (e) => e);
    const failure = classify(error);
    assert.equal(failure.code, EXIT.NOTHING_TO_RECONCILE);
    assert.match(
      failure.message,
      /no-positions\.xml: the latest statement of U1234567 \(to 2025-07-31\) has no OpenPositions section/,
    );
    assert.deepEqual(journalRows(w.dataDir), []);
  });
});
