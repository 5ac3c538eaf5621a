/**
 * Crash safety for real: the CLI is run as a subprocess against the Wealthfolio stand-in and
 * killed (SIGKILL) while the stand-in holds one of its requests — before Wealthfolio handled it,
 * or after it wrote but before the answer reached the client — then run again. However often it
 * is killed, the end state is the one an uninterrupted run gives: every activity in Wealthfolio
 * exactly once, the journal saying so with Wealthfolio's ids. And a journal deleted and rebuilt
 * from the same statements creates nothing new in Wealthfolio.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  type FaultMatch,
  startWealthfolioStandIn,
  type WealthfolioStandIn,
} from "../standins/wealthfolio.ts";
import { createEquityAsset } from "../support/wealthfolio_seed.ts";
import {
  FIXTURE,
  journalFile,
  REPO_ROOT,
  runCli,
  showRun,
  spawnCli,
  tempDataDir,
} from "./run_cli.ts";

const PASSWORD = "crash-test-password";
const ACCOUNT = "ibkr-gia-1";
const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
const CORRECTIONS = `${REPO_ROOT}/fixtures/corrections`;

async function standIn(): Promise<WealthfolioStandIn> {
  const wf = await startWealthfolioStandIn({ password: PASSWORD, recalcLagMs: 0 });
  wf.addAccount({ id: ACCOUNT, name: "IBKR GIA", currency: "GBP", trackingMode: "TRANSACTIONS" });
  return wf;
}

function envFor(wf: WealthfolioStandIn): Record<string, string> {
  return { WF_BASE_URL: wf.baseUrl, WF_PASSWORD: PASSWORD, IBKR_ACCOUNT_ID: ACCOUNT, ...GUARD };
}

/** Wealthfolio's state without its own ids: what a user sees. */
function wfState(wf: WealthfolioStandIn) {
  const assets = new Map(wf.state.assets.map((a) => [a.id, a]));
  return {
    activities: wf.state.activities.map((a) =>
      [
        a.idempotencyKey,
        a.activityType,
        a.activityDate,
        a.assetId ? assets.get(a.assetId)!.instrumentKey : null,
        a.quantity,
        a.unitPrice,
        a.amount,
        a.fee,
        a.currency,
        a.sourceGroupId,
      ].join("|")
    ).sort(),
    assets: wf.state.assets.map((a) => `${a.instrumentKey} ${a.quoteCcy}`).sort(),
  };
}

/** The journal agrees with Wealthfolio: nothing pending, every pushed key with WF's own id. */
function assertJournalAgrees(dataDir: string, wf: WealthfolioStandIn): void {
  const db = new DatabaseSync(journalFile(dataDir));
  try {
    const pending = db.prepare("SELECT COUNT(*) AS n FROM activities WHERE state = 'pending'")
      .get() as { n: number };
    assert.equal(pending.n, 0, "nothing left pending");
    const synced = Object.fromEntries(
      (db.prepare(
        `SELECT s.key, s.wf_activity_id FROM sync_records s JOIN activities a USING (key)
         WHERE a.state = 'pushed'`,
      ).all() as { key: string; wf_activity_id: string }[]).map((r) => [r.key, r.wf_activity_id]),
    );
    const inWf = Object.fromEntries(wf.state.activities.map((a) => [a.idempotencyKey!, a.id]));
    assert.deepEqual(synced, inWf, "the journal's ids are Wealthfolio's");
  } finally {
    db.close();
  }
}

/** A journal of the sample statement, made once and copied for each trial. */
let template: string | null = null;
async function journaled(): Promise<string> {
  if (template === null) {
    template = await tempDataDir();
    const run = await runCli(["backfill", "--no-push", FIXTURE], { dataDir: template, env: GUARD });
    assert.equal(run.code, 0, showRun(run));
  }
  const dir = await tempDataDir();
  for await (const e of Deno.readDir(template)) {
    if (e.name.startsWith("broker-sync.sqlite")) {
      await Deno.copyFile(`${template}/${e.name}`, `${dir}/${e.name}`);
    }
  }
  return dir;
}

/** What an uninterrupted push of the sample gives. */
let reference: ReturnType<typeof wfState> | null = null;
async function referenceState(): Promise<ReturnType<typeof wfState>> {
  if (reference === null) {
    const wf = await standIn();
    try {
      const run = await runCli(["import", "--batch-size", "4"], {
        dataDir: await journaled(),
        env: envFor(wf),
      });
      assert.equal(run.code, 0, showRun(run));
      reference = wfState(wf);
    } finally {
      await wf.close();
    }
  }
  return reference;
}

/**
 * Runs `import` until the stand-in holds the request `on` (after `skip` others), kills the CLI
 * there, then lets the request go (`answer`: handled as if the client were still there).
 */
async function killAt(
  wf: WealthfolioStandIn,
  dataDir: string,
  on: FaultMatch,
  o: { afterHandling?: boolean; skip?: number; release?: "answer" | "drop" },
  args: string[] = ["import", "--batch-size", "4"],
): Promise<void> {
  const hold = wf.hold(on, { afterHandling: o.afterHandling, skip: o.skip });
  const cli = spawnCli(args, { dataDir, env: envFor(wf) });
  const outcome = await Promise.race([
    hold.reached.then(() => "held" as const),
    cli.result.then(() => "exited" as const),
  ]);
  if (outcome === "exited") {
    hold.release("drop");
    assert.fail(
      `the CLI ended before reaching ${JSON.stringify(on)}:\n${showRun(await cli.result)}`,
    );
  }
  cli.child.kill("SIGKILL");
  const killed = await cli.result;
  assert.notEqual(killed.code, 0, "killed");
  hold.release(o.release ?? "answer");
}

Deno.test("killed at each request of a push (after Wealthfolio handled it), a re-run converges", async () => {
  const expected = await referenceState();
  // The requests of a push of the sample in chunks of 4: status, login, accounts,
  // check-duplicates, 3 assets, 4 bulk calls.
  const steps: FaultMatch[] = [
    { path: "/auth/status" },
    { path: "/auth/login" },
    { path: "/accounts" },
    { path: "/activities/import/check-duplicates" },
    { path: "/assets" },
    { path: "/activities/bulk" },
  ];
  for (const on of steps) {
    const skips = on.path === "/activities/bulk" ? [0, 2, 3] : on.path === "/assets" ? [1] : [0];
    for (const skip of skips) {
      const wf = await standIn();
      try {
        const dataDir = await journaled();
        await killAt(wf, dataDir, on, { afterHandling: true, skip });
        const rerun = await runCli(["import", "--batch-size", "4"], { dataDir, env: envFor(wf) });
        assert.equal(rerun.code, 0, showRun(rerun));
        assert.deepEqual(wfState(wf), expected, `killed at ${on.path} (skip ${skip})`);
        assertJournalAgrees(dataDir, wf);
      } finally {
        await wf.close();
      }
    }
  }
});

Deno.test("killed again and again, before and after Wealthfolio handled a request, the last run converges", async () => {
  const expected = await referenceState();
  const wf = await standIn();
  try {
    const dataDir = await journaled();
    const bulk = { method: "POST", path: "/activities/bulk" };
    // Before any write.
    await killAt(wf, dataDir, { path: "/accounts" }, { release: "drop" });
    // An asset created in Wealthfolio, not yet in the journal's cache.
    await killAt(wf, dataDir, { path: "/assets" }, { afterHandling: true, skip: 1 });
    // A bulk call the server goes on to handle after its client died.
    await killAt(wf, dataDir, bulk, { release: "answer" });
    assert.equal(wf.state.activities.length, 4, "the first chunk landed");
    // Chunks recorded, then one written and its answer lost.
    await killAt(wf, dataDir, bulk, { afterHandling: true, skip: 1 });
    // While asking what Wealthfolio holds.
    await killAt(wf, dataDir, { path: "/activities/import/check-duplicates" }, {
      release: "drop",
    });
    // A bulk call that never reaches the server's handler.
    await killAt(wf, dataDir, bulk, { release: "drop" });
    const last = await runCli(["--json", "import", "--batch-size", "4"], {
      dataDir,
      env: envFor(wf),
    });
    assert.equal(last.code, 0, showRun(last));
    assert.deepEqual(wfState(wf), expected);
    assertJournalAgrees(dataDir, wf);
  } finally {
    await wf.close();
  }
});

Deno.test("killed while deleting a correction, a re-run finishes the corrections without a second delete", async () => {
  const wf = await standIn();
  try {
    const dataDir = await tempDataDir();
    const env = envFor(wf);
    // KO has no trade in these statements: its asset exists in Wealthfolio already.
    await createEquityAsset(wf.baseUrl, PASSWORD, { symbol: "KO", mic: "XNYS", quoteCcy: "USD" });
    const first = await runCli(["backfill", `${CORRECTIONS}/dividend-2025-04.xml.fixture`], {
      dataDir,
      env,
    });
    assert.equal(first.code, 0, showRun(first));
    assert.equal(wf.state.activities.length, 2);

    await killAt(
      wf,
      dataDir,
      { method: "DELETE", path: /^\/api\/v1\/activities\/[^/]+$/ },
      { afterHandling: true },
      ["backfill", `${CORRECTIONS}/dividend-reversal-2025-05.xml.fixture`],
    );
    assert.equal(wf.state.activities.length, 1, "the dividend was deleted; the run died after");
    const rerun = await runCli(["--json", "import"], { dataDir, env });
    assert.equal(rerun.code, 0, showRun(rerun));
    const report = JSON.parse(rerun.stdout);
    assert.deepEqual(
      report.corrections.map((c: { outcome: string }) => c.outcome),
      ["already-gone"],
    );
    assert.equal(
      wf.requests.filter((r) => r.method === "DELETE").length,
      1,
      "deleted exactly once",
    );
    assert.deepEqual(
      wf.state.activities.map((a) => [a.activityType, a.amount]).sort(),
      [["CREDIT", "3.83"], ["DIVIDEND", "25.75"], ["TAX", "3.83"], ["TAX", "3.86"]],
    );
    assertJournalAgrees(dataDir, wf);
  } finally {
    await wf.close();
  }
});

Deno.test("a journal deleted and rebuilt from the same statements creates nothing new in Wealthfolio", async () => {
  const wf = await standIn();
  try {
    const dataDir = await tempDataDir();
    const env = envFor(wf);
    const first = await runCli(["backfill", FIXTURE], { dataDir, env });
    assert.equal(first.code, 0, showRun(first));
    const before = wfState(wf);
    const ids = wf.state.activities.map((a) => a.id).sort();
    const writes = () => wf.requests.filter((r) => r.path.endsWith("/bulk")).length;
    const bulkBefore = writes();

    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(`${journalFile(dataDir)}${suffix}`).catch(() => {});
    }
    const again = await runCli(["--json", "backfill", FIXTURE], { dataDir, env });
    assert.equal(again.code, 0, showRun(again));
    const push = JSON.parse(again.stdout).push;
    assert.equal(push.accounts[0].alreadyInWealthfolio, 13);
    assert.deepEqual(push.accounts[0].new, {});
    assert.equal(writes(), bulkBefore, "no bulk call at all");
    assert.deepEqual(wfState(wf), before);
    assert.deepEqual(wf.state.activities.map((a) => a.id).sort(), ids);
    assertJournalAgrees(dataDir, wf);
  } finally {
    await wf.close();
  }
});
