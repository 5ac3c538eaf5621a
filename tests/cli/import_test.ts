/**
 * `import` and `backfill`'s push as a user sees them: the real CLI as a subprocess with the
 * binary's permissions, against the loopback Wealthfolio stand-in. Exit codes, the one-line
 * refusals, the `--json` report and plan, and secrets that never reach any output.
 */
import assert from "node:assert/strict";
import type { PushReport } from "../../src/app/push.ts";
import { DatabaseSync } from "node:sqlite";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { MAPPING_VERSION } from "../../src/domain/activity.ts";
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../standins/wealthfolio.ts";
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

const PASSWORD = "Tr0ub4dor&3-wealthfolio";
const ACCOUNT = "8b0f5a2e-ibkr-gia";

interface Env {
  wf: WealthfolioStandIn;
  dataDir: string;
  env: Record<string, string>;
}

async function withWf(
  o: { trackingMode?: "TRANSACTIONS" | "HOLDINGS" | "NOT_SET"; password?: string | null },
  fn: (e: Env) => Promise<void>,
): Promise<void> {
  const wf = await startWealthfolioStandIn({
    password: o.password === undefined ? PASSWORD : o.password,
    recalcLagMs: 0,
  });
  wf.addAccount({
    id: ACCOUNT,
    name: "IBKR GIA",
    currency: "GBP",
    trackingMode: o.trackingMode ?? "TRANSACTIONS",
  });
  try {
    await fn({
      wf,
      dataDir: await tempDataDir(),
      env: {
        WF_BASE_URL: wf.baseUrl,
        WF_PASSWORD: PASSWORD,
        WF_USERNAME: "ignored",
        IBKR_ACCOUNT_ID: ACCOUNT,
        IBKR_ACCOUNT_ID_UPSTREAM: "U1234567",
      },
    });
  } finally {
    await wf.close();
  }
}

async function journalOnly(dataDir: string): Promise<void> {
  const run = await runCli(["backfill", "--no-push", FIXTURE], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
  });
  assert.equal(run.code, 0, showRun(run));
}

/** Asserts the one-line `broker-sync: ` message a refused run ends with; returns it. */
function oneErrorLine(run: CliResult): string {
  const all = lines(run.stderr);
  const messages = all.filter((l) => l.startsWith("broker-sync: "));
  assert.equal(messages.length, 1, `one "broker-sync: " line\n${showRun(run)}`);
  assert.equal(all.at(-1), messages[0], `the message is the last line\n${showRun(run)}`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  return messages[0];
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

Deno.test("import pushes the journal, then has nothing to do; --json is the report", async () => {
  await withWf({}, async ({ wf, dataDir, env }) => {
    await journalOnly(dataDir);
    const run = await runCli(["--json", "import"], { dataDir, env });
    assert.equal(run.code, 0, showRun(run));
    const report = parseJson<PushReport>(run);
    assert.deepEqual(Object.keys(report).sort(), [
      "accounts",
      "corrections",
      "dryRun",
      "failed",
      "journal",
      "pending",
      "remapped",
      "runId",
      "skipped",
      "stopped",
      "superseded",
      "wealthfolio",
    ]);
    assert.equal(report.dryRun, false);
    assert.equal(report.accounts[0].wealthfolioAccount.id, ACCOUNT);
    assert.equal(total(report.accounts[0].new), 13);
    assert.equal(wf.state.activities.length, 13);

    const again = await runCli(["import"], { dataDir, env });
    assert.equal(again.code, 0, showRun(again));
    assert.match(again.stdout, /nothing to push/);
    assert.equal(wf.state.activities.length, 13);
  });
});

Deno.test("after an upgrade, import maps statements of an older mapping version again before pushing", async () => {
  await withWf({}, async ({ wf, dataDir, env }) => {
    await journalOnly(dataDir);
    // What an older build would have left: every statement and row one mapping version back, and
    // one row it did not know how to map yet.
    const db = new DatabaseSync(journalFile(dataDir));
    db.exec(`UPDATE statement_mappings SET mapping_version = ${MAPPING_VERSION - 1}`);
    db.exec(`UPDATE activities SET mapping_version = ${MAPPING_VERSION - 1}`);
    const { key } = db.prepare(
      "SELECT key FROM activities WHERE state = 'pending' AND activity_type = 'DIVIDEND'",
    ).get() as { key: string };
    db.prepare(
      "UPDATE activities SET state = 'skipped', reason = 'not-yet-mapped:old' WHERE key = ?",
    ).run(key);
    db.close();

    const plan = await runCli(["--json", "import", "--dry-run"], { dataDir, env });
    assert.equal(plan.code, 0, showRun(plan));
    assert.equal(parseJson<PushReport>(plan).remapped, 1);

    const run = await runCli(["import"], { dataDir, env });
    assert.equal(run.code, 0, showRun(run));
    assert.match(run.stdout, /1 statement\(s\) mapped by an older version were mapped again first/);
    assert.equal(wf.state.activities.length, 13);
    assert.ok(
      wf.state.activities.some((a) => a.idempotencyKey === key),
      `${key} reached Wealthfolio`,
    );

    const again = await runCli(["--json", "import"], { dataDir, env });
    assert.equal(parseJson<PushReport>(again).remapped, 0);
  });
});

Deno.test("import --dry-run --json plans exactly what import then does, and writes nothing", async () => {
  await withWf({}, async ({ wf, dataDir, env }) => {
    await journalOnly(dataDir);
    const before = await sha256OfFile(journalFile(dataDir));
    const dry = await runCli(["--json", "import", "--dry-run"], { dataDir, env });
    assert.equal(dry.code, 0, showRun(dry));
    const plan = parseJson<PushReport>(dry);
    assert.equal(await sha256OfFile(journalFile(dataDir)), before);
    assert.equal(await exists(`${dataDir}/wealthfolio-session.json`), false);
    assert.equal(wf.state.activities.length + wf.state.assets.length, 0);

    const real = parseJson<PushReport>(await runCli(["--json", "import"], { dataDir, env }));
    const shape = (r: PushReport) =>
      r.accounts.map((a) => ({
        account: a.wealthfolioAccount.id,
        new: a.new,
        already: a.alreadyInWealthfolio,
        failed: a.failed,
        instruments: a.assets.map((x) => [x.instrument, x.quoteCcy]),
      }));
    assert.deepEqual(shape(plan), shape(real));
    assert.deepEqual(plan.skipped, real.skipped);
    assert.deepEqual(plan.corrections, real.corrections);
  });
});

Deno.test("backfill pushes after journaling; --no-push does not; without WF_BASE_URL it says so", async () => {
  await withWf({}, async ({ wf, dataDir, env }) => {
    const run = await runCli(["--json", "backfill", FIXTURE], { dataDir, env });
    assert.equal(run.code, 0, showRun(run));
    const result = parseJson<{ files: unknown[]; push: PushReport }>(run);
    assert.equal(result.files.length, 1);
    assert.equal(total(result.push.accounts[0].new), 13);
    assert.equal(wf.state.activities.length, 13);

    const other = await tempDataDir();
    const requests = wf.requests.length;
    const quiet = await runCli(["backfill", "--no-push", FIXTURE], { dataDir: other, env });
    assert.equal(quiet.code, 0, showRun(quiet));
    assert.equal(wf.requests.length, requests, "--no-push: Wealthfolio is not contacted");

    const third = await tempDataDir();
    const unset = await runCli(["--json", "backfill", FIXTURE], {
      dataDir: third,
      env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
    });
    assert.equal(unset.code, 0, showRun(unset));
    assert.equal(parseJson<{ push: null }>(unset).push, null);
    assert.match(unset.stderr, /not pushing to Wealthfolio: WF_BASE_URL is not set/);
  });
});

Deno.test("import without WF_BASE_URL, or with an unmapped IBKR account, is a usage error (2)", async () => {
  const dataDir = await tempDataDir();
  await journalOnly(dataDir);
  const none = await runCli(["import"], { dataDir });
  assert.equal(none.code, EXIT.USAGE, showRun(none));
  assert.match(oneErrorLine(none), /WF_BASE_URL is not set/);

  await withWf({}, async ({ wf, env }) => {
    const { IBKR_ACCOUNT_ID: _, ...unmapped } = env;
    const run = await runCli(["import"], { dataDir, env: unmapped });
    assert.equal(run.code, EXIT.USAGE, showRun(run));
    assert.match(
      oneErrorLine(run),
      /no Wealthfolio account for IBKR account U1234567 \(13 activities to push\): set IBKR_ACCOUNT_ID, or add U1234567=<wealthfolio-account-id> to IBKR_ACCOUNTS/,
    );
    assert.equal(wf.requests.length, 0);
    const mapped = await runCli(["import"], {
      dataDir,
      env: { ...unmapped, IBKR_ACCOUNTS: `U1234567=${ACCOUNT}` },
    });
    assert.equal(mapped.code, 0, showRun(mapped));
    assert.equal(wf.state.activities.length, 13);
  });
});

Deno.test("a target account tracking HOLDINGS: exit 22, one line, journal and Wealthfolio untouched", async () => {
  await withWf({ trackingMode: "HOLDINGS" }, async ({ wf, dataDir, env }) => {
    await journalOnly(dataDir);
    const before = await sha256OfFile(journalFile(dataDir));
    const run = await runCli(["import"], { dataDir, env });
    assert.equal(run.code, EXIT.WF_ACCOUNT, showRun(run));
    assert.match(
      oneErrorLine(run),
      new RegExp(`account ${ACCOUNT} \\(IBKR GIA\\).*tracks HOLDINGS`),
    );
    assert.equal(await sha256OfFile(journalFile(dataDir)), before);
    assert.equal(wf.state.activities.length, 0);
  });
});

Deno.test("a missing target account: exit 22 naming it", async () => {
  await withWf({}, async ({ dataDir, env }) => {
    await journalOnly(dataDir);
    const run = await runCli(["import"], { dataDir, env: { ...env, IBKR_ACCOUNT_ID: "gone-1" } });
    assert.equal(run.code, EXIT.WF_ACCOUNT, showRun(run));
    assert.match(oneErrorLine(run), /has no account gone-1, named by IBKR_ACCOUNT_ID/);
  });
});

Deno.test("a wrong password: exit 21, and the password is in no output", async () => {
  await withWf({}, async ({ dataDir, env }) => {
    await journalOnly(dataDir);
    const wrong = "not-the-password-42";
    const run = await runCli(["-v", "import"], { dataDir, env: { ...env, WF_PASSWORD: wrong } });
    assert.equal(run.code, EXIT.WF_AUTH, showRun(run));
    assert.match(oneErrorLine(run), /refused the password in WF_PASSWORD \(401 Invalid password\)/);
    assert.ok(!(run.stdout + run.stderr).includes(wrong));
  });
});

Deno.test("Wealthfolio unreachable: exit 20 after retries, everything still pending", async () => {
  const dataDir = await tempDataDir();
  await journalOnly(dataDir);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const run = await runCli(["import"], {
    dataDir,
    env: {
      WF_BASE_URL: `http://127.0.0.1:${port}`,
      WF_PASSWORD: PASSWORD,
      IBKR_ACCOUNT_ID: ACCOUNT,
    },
  });
  assert.equal(run.code, EXIT.WF_UNAVAILABLE, showRun(run));
  assert.match(oneErrorLine(run), /GET \/auth\/status: no answer .*gave up after 4 attempts/);
  const status = await runCli(["--json", "status"], { dataDir });
  const pending = parseJson<{ activities: { state: string; count: number }[] }>(status)
    .activities.filter((a) => a.state === "pending").reduce((n, a) => n + a.count, 0);
  assert.equal(pending, 13);
});

Deno.test("rows Wealthfolio refuses: exit 23 after pushing the rest; they are listed as failed", async () => {
  await withWf({}, async ({ wf, dataDir, env }) => {
    const { DatabaseSync } = await import("node:sqlite");
    await journalOnly(dataDir);
    const db = new DatabaseSync(journalFile(dataDir));
    db.prepare(
      "UPDATE activities SET payload = json_set(payload, '$.date', 'yesterday') WHERE key = ?",
    ).run("ibkr:U1234567:32000004");
    db.close();
    const run = await runCli(["import"], { dataDir, env });
    assert.equal(run.code, EXIT.WF_ROWS_REFUSED, showRun(run));
    assert.match(oneErrorLine(run), /Wealthfolio refused 1 activity/);
    assert.match(run.stdout, /refused: 1/);
    assert.equal(wf.state.activities.length, 12);
    const failed = parseJson<{ key: string; reason: string }[]>(
      await runCli(["--json", "activities", "--state", "failed"], { dataDir }),
    );
    assert.deepEqual(failed.map((f) => [f.key, f.reason]), [[
      "ibkr:U1234567:32000004",
      "Activity error: Invalid data: Invalid activity date: 'yesterday'",
    ]]);
    const again = await runCli(["import"], { dataDir, env });
    assert.equal(again.code, 0, "a later run with nothing new to refuse is fine");
  });
});

Deno.test("secrets: neither the password nor the session token reach stdout, stderr or the journal", async () => {
  await withWf({}, async ({ dataDir, env }) => {
    await journalOnly(dataDir);
    const runs = [
      await runCli(["-v", "--log-format", "json", "--json", "import", "--dry-run"], {
        dataDir,
        env,
      }),
      await runCli(["-v", "--json", "import"], { dataDir, env }),
      await runCli(["-v", "import"], { dataDir, env }),
      await runCli(["-v", "--json", "status"], { dataDir, env }),
    ];
    for (const run of runs) assert.equal(run.code, 0, showRun(run));
    const session = `${dataDir}/wealthfolio-session.json`;
    assert.equal((await Deno.stat(session)).mode! & 0o777, 0o600);
    const token = JSON.parse(await Deno.readTextFile(session)).token as string;
    assert.ok(token.length > 20);
    const journal = new TextDecoder("latin1").decode(await Deno.readFile(journalFile(dataDir)));
    for (const secret of [PASSWORD, token]) {
      for (const run of runs) {
        assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), showRun(run));
      }
      assert.ok(!journal.includes(secret), "not in the journal");
    }
  });
});
