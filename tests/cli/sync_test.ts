/**
 * `sync`, the CronJob's command, as an operator sees it: the real CLI (the binary's permission
 * flags) against the loopback IBKR Flex and Wealthfolio stand-ins, with a real Pushgateway that
 * is scraped to assert what Prometheus would see.
 */
import assert from "node:assert/strict";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { acquireRunLock } from "../../src/journal/lock.ts";
import { type FlexStandIn, startFlexStandIn } from "../standins/flex_service.ts";
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../standins/wealthfolio.ts";
import { type Pushgateway, samplesOf, startPushgateway } from "../support/pushgateway.ts";
import { consistentStatement, sampleStatement, withPosition } from "../support/statements.ts";
import { wealthfolioCall, wealthfolioLogin } from "../support/wealthfolio_seed.ts";
import { ACCOUNT, QUERY, readJournal, runFlexCli, TOKEN } from "./_flex.ts";
import {
  type CliOptions,
  type CliResult,
  exists,
  journalFile,
  lines,
  parseJson,
  showRun,
  tempDataDir,
} from "./run_cli.ts";

/** Parsed `--json` output, read field by field. */
// deno-lint-ignore no-explicit-any
type Json = any;

const PASSWORD = "sync-test-password";
/** The period the sample statement covers: `sync` asks IBKR for exactly it. */
const PERIOD = ["--from", "2025-01-02", "--to", "2025-06-30"];
const TOKEN_EXPIRES = "2027-01-31";

interface World {
  readonly dataDir: string;
  readonly flex: FlexStandIn;
  readonly wf: WealthfolioStandIn;
  readonly pg: Pushgateway;
  readonly wfAccount: string;
  readonly env: Record<string, string>;
  /** What IBKR answers GetStatement with from now on. */
  serve(statement: string): void;
  /** How the CLI runs against this world (for runFlexCli), with `env` over the world's. */
  options(env?: Record<string, string>): CliOptions & { secrets: readonly string[] };
  /** The samples of one metric in the account's group, as [distinguishing label, value]. */
  scrape(name: string, labels?: Record<string, string>): Promise<[string, number][]>;
  /** A Wealthfolio session, for the operator's manual fixes. */
  session(): Promise<string>;
}

async function withWorld(
  options: { generationPolls?: number },
  work: (w: World) => Promise<void>,
): Promise<void> {
  const dataDir = await tempDataDir("broker-sync-sync-");
  const flex = await startFlexStandIn({
    token: TOKEN,
    queryId: QUERY,
    minIntervalMs: 0,
    rateLimitPerMinute: 1_000_000,
    generationPolls: options.generationPolls ?? 0,
  });
  const wf = await startWealthfolioStandIn({ password: PASSWORD, recalcLagMs: 0 });
  const pg = await startPushgateway();
  try {
    const account = wf.addAccount({ name: "IBKR", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const env = {
      IBKR_FLEX_TOKEN: TOKEN,
      IBKR_FLEX_QUERY_ID: QUERY,
      IBKR_FLEX_BASE_URL: flex.baseUrl,
      IBKR_FLEX_POLL_SECONDS: "0",
      IBKR_FLEX_TOKEN_EXPIRES: TOKEN_EXPIRES,
      IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT,
      IBKR_ACCOUNTS: `${ACCOUNT}=${account.id}`,
      WF_BASE_URL: wf.baseUrl,
      WF_PASSWORD: PASSWORD,
      PUSHGATEWAY_URL: pg.url,
    };
    let statement = "";
    flex.setStatement(() => statement);
    let session: string | null = null;
    await work({
      dataDir,
      flex,
      wf,
      pg,
      wfAccount: account.id,
      env,
      serve: (text) => (statement = text),
      options: (extra = {}) => ({ dataDir, env: { ...env, ...extra }, secrets: [PASSWORD] }),
      scrape: async (name, labels = {}) =>
        samplesOf(await pg.scrape(), name, { job: "broker-sync-ibkr", account: ACCOUNT, ...labels })
          .map((s) => [
            s.labels.symbol ?? s.labels.currency ?? s.labels.state ?? s.labels.reason ??
              s.labels.code ?? s.labels.command ?? "",
            s.value,
          ]),
      session: async () => (session ??= await wealthfolioLogin(wf.baseUrl, PASSWORD)),
    });
  } finally {
    await pg.stop();
    await wf.close();
    await flex.close();
  }
}

/** The journal's last successful sync, in Unix seconds (what the metric must say). */
async function lastSuccess(w: World): Promise<number | null> {
  const status = parseJson<Json>(await runFlexCli(["--json", "status"], w.options()));
  return status.lastSuccessfulSync ? Date.parse(status.lastSuccessfulSync.finishedAt) / 1000 : null;
}

function syncRuns(dataDir: string): { outcome: string; exit_code: number; counts: string }[] {
  return readJournal(
    dataDir,
    (db) =>
      db.prepare("SELECT outcome, exit_code, counts FROM runs WHERE command = 'sync' ORDER BY id")
        .all() as { outcome: string; exit_code: number; counts: string }[],
  );
}

Deno.test("sync imports and reconciles to zero drift, reports the exact drift of an inconsistent statement, and a run after the fix shows it gone", async () => {
  await withWorld({}, async (w) => {
    // Night 1: IBKR's statement is consistent with what we book.
    w.serve(consistentStatement());
    const first = await runFlexCli(["sync", ...PERIOD], w.options());
    assert.equal(first.code, EXIT.OK, showRun(first));
    const out = lines(first.stdout);
    assert.deepEqual(out.filter((l) => l.startsWith("== ")), [
      "== fetch: ok",
      "== import: ok",
      "== reconcile: ok",
      out.at(-1),
    ]);
    assert.match(
      out.at(-1)!,
      /^== sync run \d+: every step did its work; exit 0 \(the worst of fetch 0, import 0, reconcile 0\)$/,
    );
    assert.ok(out.includes("all 1 account(s) agree"), first.stdout);
    // Imported: every activity is in Wealthfolio, under its own key.
    assert.equal(w.wf.state.activities.length, 13);
    assert.ok(w.wf.state.activities.every((a) => a.idempotencyKey?.startsWith("ibkr:U1234567:")));

    assert.deepEqual(await w.scrape("ibkr_position_drift_shares"), [
      ["AAPL", 0],
      ["BRK-B", 0],
      ["VUAG.L", 0],
    ]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_activities"), [["pushed", 13]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", 0]]);
    assert.deepEqual(await w.scrape("ibkr_flex_error"), []);
    const firstSuccess = await lastSuccess(w);
    assert.ok(firstSuccess !== null);
    assert.deepEqual(await w.scrape("ibkr_sync_last_success_timestamp_seconds"), [[
      "",
      firstSuccess,
    ]]);
    assert.deepEqual(await w.scrape("ibkr_flex_token_expiry_timestamp_seconds"), [[
      "",
      Date.parse(`${TOKEN_EXPIRES}T00:00:00Z`) / 1000,
    ]]);
    const [duration] = await w.scrape("ibkr_run_duration_seconds");
    assert.equal(duration[0], "sync");
    assert.ok(duration[1] > 0 && duration[1] < 120, `duration ${duration[1]}`);

    // Night 2: IBKR re-issues the period: it now says 9 AAPL, and has a fee rebate we skip.
    w.serve(withPosition(sampleStatement(), "AAPL", "9"));
    const second = await runFlexCli(["--json", "sync", ...PERIOD], w.options());
    assert.equal(second.code, EXIT.DRIFT, showRun(second));
    const report = parseJson<Json>(second);
    assert.equal(report.exitCode, EXIT.DRIFT);
    // Drift is what the run found, not a step that failed.
    assert.equal(report.succeeded, true);
    assert.deepEqual(
      [report.steps.fetch.outcome, report.steps.import.outcome, report.steps.reconcile.outcome],
      ["ok", "ok", "ok"],
    );
    assert.deepEqual(
      [report.steps.fetch.exitCode, report.steps.import.exitCode, report.steps.reconcile.exitCode],
      [0, 0, EXIT.DRIFT],
    );
    assert.equal(
      report.steps.fetch.result.windows[0].mapping.skipped["unknown-cash-type:Fees Rebate"],
      1,
    );
    const [account] = report.steps.reconcile.result.accounts;
    assert.deepEqual(
      account.positions.filter((p: Json) => p.outcome !== "ok").map((p: Json) => [
        p.symbol,
        p.ibkr,
        p.wealthfolio,
        p.drift,
        p.outcome,
      ]),
      [["AAPL", "9", "7", "2", "differs"]],
    );
    assert.deepEqual(
      account.cash.map((c: Json) => [c.currency, c.ibkr, c.wealthfolio, c.drift, c.outcome]),
      [
        ["GBP", "695.2575", "694.7575", "0.5", "differs"],
        ["USD", "-1271.9017", "-1271.9017", "0", "ok"],
      ],
    );
    assert.equal(report.metrics.pushed, true);
    assert.deepEqual(await w.scrape("ibkr_position_drift_shares"), [
      ["AAPL", 2],
      ["BRK-B", 0],
      ["VUAG.L", 0],
    ]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0.5], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_skipped_rows"), [["unknown-cash-type:Fees Rebate", 1]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", EXIT.DRIFT]]);
    // Every step did its work, so the last success moves on; the drift alerts speak for the drift.
    const secondSuccess = await lastSuccess(w);
    assert.ok(secondSuccess! > firstSuccess);
    assert.deepEqual(await w.scrape("ibkr_sync_last_success_timestamp_seconds"), [[
      "",
      secondSuccess,
    ]]);

    // The operator books what Wealthfolio lacks: the 2 AAPL IBKR holds, and the rebate.
    const session = await w.session();
    for (
      const activity of [
        {
          activityType: "TRANSFER_IN",
          activityDate: "2025-06-30T00:00:00Z",
          symbol: { symbol: "AAPL", exchangeMic: "XNAS", quoteCcy: "USD" },
          quantity: "2",
          unitPrice: "205.17",
          currency: "USD",
        },
        {
          activityType: "CREDIT",
          subtype: "REBATE",
          activityDate: "2025-06-10T20:20:00Z",
          amount: "0.5",
          currency: "GBP",
        },
      ]
    ) {
      await wealthfolioCall(w.wf.baseUrl, session, "POST", "/activities", {
        accountId: w.wfAccount,
        ...activity,
      });
    }

    // Night 3: nothing new from IBKR; the drift is gone from the Pushgateway too.
    const third = await runFlexCli(["sync", ...PERIOD], w.options());
    assert.equal(third.code, EXIT.OK, showRun(third));
    assert.match(third.stdout, /Flex query 987654 2025-01-02\.\.2025-06-30: already-journaled/);
    assert.deepEqual(await w.scrape("ibkr_position_drift_shares"), [
      ["AAPL", 0],
      ["BRK-B", 0],
      ["VUAG.L", 0],
    ]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", 0]]);

    // One sync run per night in the journal, each with its steps' own runs.
    const runs = syncRuns(w.dataDir);
    assert.deepEqual(runs.map((r) => [r.outcome, r.exit_code]), [["ok", 0], ["ok", 30], ["ok", 0]]);
    const steps = JSON.parse(runs[1].counts).steps;
    assert.deepEqual(Object.keys(steps), ["fetch", "import", "reconcile"]);
    assert.equal(steps.reconcile.exitCode, EXIT.DRIFT);
    assert.equal(typeof steps.reconcile.runId, "number");

    const status = await runFlexCli(["status"], w.options());
    assert.match(status.stdout, /^last successful sync: \S+ \(run \d+\)$/m);
    assert.match(status.stdout, /^last reconciliation: \S+ \(run \d+, reconcile\)$/m);
    assert.match(status.stdout, /U1234567 → \S+ \(statement to 2025-06-30\): agrees/);
  });
});

Deno.test("a failing step still pushes its Flex error code and exit code, never a new last success, and the other steps still run", async () => {
  await withWorld({ generationPolls: 1 }, async (w) => {
    w.serve(consistentStatement());
    // The first night, IBKR says the token has expired.
    w.flex.script([{ kind: "error", code: "1012", on: "SendRequest" }]);
    const expired = await runFlexCli(["sync"], w.options());
    assert.equal(expired.code, EXIT.FLEX_TOKEN_EXPIRED, showRun(expired));
    const errors = lines(expired.stderr).filter((l) => l.startsWith("broker-sync: "));
    assert.equal(errors.length, 2, expired.stderr);
    assert.match(errors[0], /^broker-sync: fetch: Flex Web Service SendRequest: IBKR error 1012 /);
    // Reconcile still ran, and had nothing to compare against yet: 32 is less severe than 10.
    assert.match(errors[1], /^broker-sync: reconcile: no journaled statement of account U1234567/);
    assert.match(expired.stdout, /^== fetch: FAILED \(exit 10\)$/m);
    assert.match(expired.stdout, /^== import: ok$/m);
    assert.match(expired.stdout, /^== reconcile: FAILED \(exit 32\)$/m);
    assert.match(expired.stdout, /exit 10 \(the worst of fetch 10, import 0, reconcile 32\)$/m);

    assert.deepEqual(await w.scrape("ibkr_flex_error"), [["1012", 1]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", EXIT.FLEX_TOKEN_EXPIRED]]);
    assert.equal((await w.scrape("ibkr_run_duration_seconds")).length, 1);
    assert.deepEqual(await w.scrape("ibkr_sync_last_success_timestamp_seconds"), []);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), []);
    assert.deepEqual(syncRuns(w.dataDir).map((r) => [r.outcome, r.exit_code]), [["failed", 10]]);
    assert.equal(await lastSuccess(w), null);

    // The token is renewed: a full run. IBKR's "still generating" (1019) is counted, not an error.
    const renewed = await runFlexCli(["sync", ...PERIOD], w.options());
    assert.equal(renewed.code, EXIT.OK, showRun(renewed));
    assert.deepEqual(await w.scrape("ibkr_flex_error"), [["1019", 1]]);
    const success = await lastSuccess(w);
    assert.ok(success !== null);

    // It expires again: the last success stays the earlier run's, while the import and the
    // reconciliation of what the journal holds go on, so the drift series stay fresh.
    w.flex.script([{ kind: "error", code: "1012", on: "SendRequest" }]);
    const again = await runFlexCli(["sync", ...PERIOD], w.options());
    assert.equal(again.code, EXIT.FLEX_TOKEN_EXPIRED, showRun(again));
    assert.deepEqual(await w.scrape("ibkr_flex_error"), [["1012", 1]]);
    assert.deepEqual(await w.scrape("ibkr_sync_last_success_timestamp_seconds"), [["", success]]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0], ["USD", 0]]);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", EXIT.FLEX_TOKEN_EXPIRED]]);
    assert.equal(await lastSuccess(w), success);
  });
});

Deno.test("another run holding the lock: exit 5 and nothing done, not even metrics", async () => {
  await withWorld({}, async (w) => {
    w.serve(consistentStatement());
    const lock = acquireRunLock(w.dataDir);
    let held: CliResult;
    try {
      held = await runFlexCli(["sync", ...PERIOD], w.options());
    } finally {
      lock.release();
    }
    assert.equal(held.code, EXIT.LOCKED, showRun(held));
    assert.equal(held.stdout, "");
    assert.match(
      held.stderr,
      /^broker-sync: \S+broker-sync\.lock: another broker-sync run holds the journal lock; this run did nothing/m,
    );
    assert.deepEqual(w.flex.calls, []);
    assert.deepEqual(w.wf.requests, []);
    assert.equal(await exists(journalFile(w.dataDir)), false);
    assert.deepEqual((await w.pg.scrape()).filter((s) => s.name.startsWith("ibkr_")), []);
  });
});

Deno.test("a setting sync needs is missing or wrong: exit 2 before anything is locked, fetched or written", async () => {
  await withWorld({}, async (w) => {
    w.serve(consistentStatement());
    for (
      const [extra, message] of [
        [{ WF_BASE_URL: "" }, /^broker-sync: WF_BASE_URL is not set: .* to push to and reconcile/m],
        [{ IBKR_FLEX_TOKEN: "" }, /^broker-sync: no Flex token: set IBKR_FLEX_TOKEN/m],
        [{ IBKR_FLEX_TOKEN_EXPIRES: "31/01/2027" }, /^broker-sync: IBKR_FLEX_TOKEN_EXPIRES: /m],
      ] as const
    ) {
      const r = await runFlexCli(["sync"], w.options(extra));
      assert.equal(r.code, EXIT.USAGE, showRun(r));
      assert.match(r.stderr, message);
    }
    const future = await runFlexCli(["sync", "--from", "2999-01-01"], w.options());
    assert.equal(future.code, EXIT.USAGE, showRun(future));
    assert.match(future.stderr, /--from 2999-01-01 is in the future/);
    assert.deepEqual(w.flex.calls, []);
    assert.deepEqual(w.wf.requests, []);
    assert.equal(await exists(journalFile(w.dataDir)), false);
    // What it knows is pushed all the same: the CronJob's exit code, for the operator.
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", EXIT.USAGE]]);
  });
});

Deno.test("a journal that cannot be used: exit 6, nothing fetched, and the exit code still pushed", async () => {
  await withWorld({}, async (w) => {
    w.serve(consistentStatement());
    await Deno.writeTextFile(journalFile(w.dataDir), "not a journal, but a note someone left here");
    const r = await runFlexCli(["sync", ...PERIOD], w.options());
    assert.equal(r.code, EXIT.JOURNAL, showRun(r));
    assert.deepEqual(lines(r.stderr).filter((l) => l.startsWith("broker-sync: ")).length, 1);
    assert.match(r.stderr, /^broker-sync: \S+broker-sync\.sqlite: /m);
    assert.deepEqual(w.flex.calls, []);
    assert.deepEqual(w.wf.requests, []);
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["sync", EXIT.JOURNAL]]);
  });
});

Deno.test("reconcile on its own: pairs the journal's account with IBKR_ACCOUNT_ID, --fail-on-drift gives 30, and Wealthfolio's refusals keep their own exit codes", async () => {
  await withWorld({}, async (w) => {
    // Journaled and pushed by backfill (no Flex Web Service involved); no IBKR_ACCOUNTS.
    const env = { IBKR_ACCOUNTS: "", IBKR_ACCOUNT_ID: w.wfAccount };
    const backfill = await runFlexCli(["backfill", "fixtures/U1234567-2025.xml"], w.options(env));
    assert.equal(backfill.code, EXIT.OK, showRun(backfill));

    const plain = await runFlexCli(["--json", "reconcile"], w.options(env));
    assert.equal(plain.code, EXIT.OK, showRun(plain));
    const report = parseJson<Json>(plain);
    assert.equal(report.drift, true);
    assert.deepEqual(
      report.accounts.map((a: Json) => [a.accountId, a.wealthfolioAccountId]),
      [[ACCOUNT, w.wfAccount]],
    );
    assert.deepEqual(report.accounts[0].cash[0], {
      currency: "GBP",
      ibkr: "695.2575",
      wealthfolio: "694.7575",
      drift: "0.5",
      outcome: "differs",
    });
    assert.deepEqual(await w.scrape("ibkr_run_exit_code"), [["reconcile", 0]]);
    assert.deepEqual(await w.scrape("ibkr_cash_drift"), [["GBP", 0.5], ["USD", 0]]);

    const failing = await runFlexCli(["reconcile", "--fail-on-drift"], w.options(env));
    assert.equal(failing.code, EXIT.DRIFT, showRun(failing));
    assert.match(failing.stdout, /^\s+GBP\s+695\.2575\s+694\.7575\s+0\.5\s+DIFFERS$/m);

    const wrongAccount = await runFlexCli(
      ["reconcile"],
      w.options({ ...env, IBKR_ACCOUNT_ID: "not-an-account" }),
    );
    assert.equal(wrongAccount.code, EXIT.WF_ACCOUNT, showRun(wrongAccount));
    assert.match(
      wrongAccount.stderr,
      /^broker-sync: Wealthfolio at \S+ has no account not-an-account, named by IBKR_ACCOUNT_ID; /m,
    );

    // A password Wealthfolio refuses (and no cached session to fall back on).
    const refused = await runFlexCli(
      ["reconcile"],
      w.options({
        ...env,
        WF_PASSWORD: "wrong-password",
        WF_SESSION_PATH: `${w.dataDir}/no-session.json`,
      }),
    );
    assert.equal(refused.code, EXIT.WF_AUTH, showRun(refused));
    assert.match(refused.stderr, /refused the password in WF_PASSWORD/);
    assert.ok(!refused.stderr.includes("wrong-password"));

    const unmapped = await runFlexCli(
      ["reconcile"],
      w.options({ IBKR_ACCOUNTS: "", IBKR_ACCOUNT_ID: "" }),
    );
    assert.equal(unmapped.code, EXIT.USAGE, showRun(unmapped));
    assert.match(unmapped.stderr, /no Wealthfolio account to reconcile IBKR account U1234567/);
  });
});
