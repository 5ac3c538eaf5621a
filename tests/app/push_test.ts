/**
 * The push use case against the Wealthfolio stand-in over real HTTP, on a real journal: what
 * reaches Wealthfolio, what the journal records, and how every fault of the contract ends with
 * the two consistent.
 */
import assert from "node:assert/strict";
import { generateStatement } from "../../scripts/generate_statement.ts";
import { MAX_BODY_BYTES } from "../../src/app/push.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { journalPath } from "../../src/journal/db.ts";
import { WealthfolioAccountError } from "../../src/wealthfolio/errors.ts";
import { sha256OfFile } from "../cli/run_cli.ts";
import {
  calls,
  CORRECTIONS,
  createAsset,
  created,
  FIXTURE,
  journalStates,
  K,
  syncRecords,
  wfActivities,
  withPush,
} from "./_push.ts";

/** The 13 activities of the sample statement, by type. */
const FIXTURE_NEW = {
  BUY: 3,
  DEPOSIT: 1,
  DIVIDEND: 1,
  FEE: 3,
  INTEREST: 1,
  SELL: 1,
  TAX: 1,
  TRANSFER_IN: 1,
  TRANSFER_OUT: 1,
};

Deno.test("every pending activity reaches Wealthfolio once, as the journal holds it", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    const report = await s.push();
    assert.equal(report.stopped, null);
    assert.deepEqual(created(report), FIXTURE_NEW);
    assert.equal(report.pending, 0);

    const acts = wfActivities(s.wf);
    assert.equal(acts.length, 13);
    const buy = acts.find((a) => a.key === K("31000002"))!;
    assert.deepEqual(buy, {
      key: K("31000002"),
      type: "BUY",
      subtype: null,
      date: "2025-02-03T13:05:12+00:00",
      asset: "EQUITY:VUAG@XLON",
      quantity: "25",
      unitPrice: "92.1425",
      amount: "2303.5625",
      fee: "3",
      currency: "GBP",
      notes: "IBKR tradeID 7001002",
      sourceSystem: "IBKR_FLEX",
      sourceRecordId: "U1234567:31000002",
      sourceGroupId: null,
    });
    // Cash never carries a symbol, so never an asset; FX legs are linked by their group.
    for (
      const k of ["32000001", "31000005:out", "31000005:in", "31000003:commission", "32000003"]
    ) {
      assert.equal(acts.find((a) => a.key === K(k))!.asset, null, k);
    }
    assert.equal(acts.find((a) => a.key === K("31000005:in"))!.sourceGroupId, K("31000005"));
    // The dividend is booked against its security.
    assert.equal(acts.find((a) => a.key === K("32000002"))!.asset, "EQUITY:AAPL@XNAS");

    // LSE is GBP, as IBKR trades it: never the pence Wealthfolio would default XLON to.
    const vuag = s.wf.state.assets.find((a) => a.instrumentKey === "EQUITY:VUAG@XLON")!;
    assert.equal(vuag.quoteCcy, "GBP");
    const holdings = s.wf.holdings(s.account.id);
    const qty = (sym: string) =>
      holdings.find((h) => h.holdingType === "security" && h.instrument.symbol === sym)?.quantity;
    assert.deepEqual([qty("AAPL"), qty("VUAG"), qty("BRK-B")], [7, 25, 4]);

    const db = s.db();
    try {
      const states = journalStates(db);
      assert.equal(Object.values(states).filter((x) => x === "pushed").length, 13);
      const ids = new Map(s.wf.state.activities.map((a) => [a.idempotencyKey, a.id]));
      assert.deepEqual(syncRecords(db), Object.fromEntries([...ids].sort()));
      const assetCache = db.prepare("SELECT instrument, quote_ccy FROM wf_assets ORDER BY 1").all();
      assert.deepEqual(assetCache.map((r) => [r.instrument, r.quote_ccy]), [
        ["AAPL@XNAS", "USD"],
        ["BRK-B@XNYS", "USD"],
        ["VUAG.L@XLON", "GBP"],
      ]);
    } finally {
      db.close();
    }
  });
});

Deno.test("a second run has nothing to do and makes no request at all", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    await s.push();
    const before = s.wf.requests.length;
    const again = await s.push();
    assert.deepEqual(created(again), {});
    assert.equal(again.runId, null);
    assert.equal(s.wf.requests.length, before);
    assert.equal(s.wf.state.activities.length, 13);
  });
});

Deno.test("the dry run's plan is what the run then does, and the dry run writes nothing", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    const journal = journalPath(s.dataDir);
    const before = await sha256OfFile(journal);
    const plan = await s.push({ dryRun: true });
    assert.equal(await sha256OfFile(journal), before, "the journal is byte-for-byte unchanged");
    await assert.rejects(() => Deno.stat(`${s.dataDir}/wealthfolio-session.json`));
    assert.deepEqual(
      [...new Set(calls(s.wf))].sort(),
      [
        "GET /accounts",
        "GET /auth/status",
        "POST /activities/import/check-duplicates",
        "POST /auth/login",
      ],
      "only reads (and the login)",
    );
    assert.equal(s.wf.state.activities.length, 0);
    assert.equal(s.wf.state.assets.length, 0);

    const done = await s.push();
    assert.equal(plan.dryRun, true);
    assert.deepEqual(created(plan), created(done));
    assert.deepEqual(created(plan), FIXTURE_NEW);
    assert.deepEqual(
      plan.accounts.map((a) => [a.alreadyInWealthfolio, a.failed]),
      done.accounts.map((a) => [a.alreadyInWealthfolio, a.failed]),
    );
    assert.deepEqual(
      plan.accounts[0].assets.map((a) => [a.instrument, a.quoteCcy, a.outcome]),
      [
        ["AAPL@XNAS", "USD", "to-resolve"],
        ["VUAG.L@XLON", "GBP", "to-resolve"],
        ["BRK-B@XNYS", "USD", "to-resolve"],
      ],
    );
    assert.deepEqual(plan.skipped, { "unknown-cash-type:Fees Rebate": 1 });
    assert.deepEqual(done.skipped, plan.skipped);
  });
});

Deno.test("a 200 with errors[] wrote nothing: the refused row is failed with Wealthfolio's words, the rest pushed", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    const bad = K("32000004"); // the INTEREST row
    const db = s.db();
    db.prepare(
      "UPDATE activities SET payload = json_set(payload, '$.date', '2025-04-31') WHERE key = ?",
    )
      .run(bad);
    db.close();

    const report = await s.push({ batchSize: 5 });
    assert.equal(report.stopped, null);
    assert.equal(report.accounts[0].failed, 1);
    assert.deepEqual(report.failed, [{
      key: bad,
      reason: "Activity error: Invalid data: Invalid activity date: '2025-04-31'",
    }]);
    const keys = wfActivities(s.wf).map((a) => a.key);
    assert.equal(keys.length, 12);
    assert.ok(!keys.includes(bad));
    const bulk = s.wf.requests.filter((r) => r.path === "/api/v1/activities/bulk");
    assert.equal(bulk.length, 4, "three chunks, one sent again without the refused row");

    // Fixed, and retried on request.
    const fix = s.db();
    fix.prepare(
      "UPDATE activities SET payload = json_set(payload, '$.date', '2025-04-03T12:00:00Z') WHERE key = ?",
    )
      .run(bad);
    fix.close();
    const plain = await s.push();
    assert.equal(plain.runId, null, "failed rows wait for --retry-failed");
    const retried = await s.push({ retryFailed: true });
    assert.deepEqual(created(retried), { INTEREST: 1 });
    assert.equal(s.wf.state.activities.length, 13);
  });
});

Deno.test("a 400 'Duplicate activity' is met by checking again: the held rows are recorded, the rest sent", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    const held = s.wf.hold({ method: "POST", path: "/activities/bulk" });
    const running = s.push();
    await held.reached;
    // Meanwhile, another writer puts one of the chunk's keys into Wealthfolio.
    const deposit = s.wf.state.activities.length;
    assert.equal(deposit, 0);
    const login = await fetch(`${s.wf.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "wf-test-password-7" }),
    });
    await login.body?.cancel();
    const cookie = login.headers.getSetCookie()[0].split(";")[0];
    const other = await fetch(`${s.wf.baseUrl}/api/v1/activities`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({
        accountId: s.account.id,
        activityType: "DEPOSIT",
        activityDate: "2025-01-06",
        amount: "5000",
        currency: "GBP",
        idempotencyKey: K("32000001"),
      }),
    });
    const otherId = (await other.json()).id;
    held.release();
    const report = await running;

    const bulk = s.wf.requests.filter((r) => r.path === "/api/v1/activities/bulk");
    assert.deepEqual(bulk.map((r) => r.status), [400, 200]);
    assert.equal(report.accounts[0].alreadyInWealthfolio, 1);
    assert.equal(Object.values(created(report)).reduce((a, b) => a + b, 0), 12);
    assert.equal(s.wf.state.activities.length, 13, "no key twice");
    const db = s.db();
    try {
      assert.equal(syncRecords(db)[K("32000001")], otherId);
    } finally {
      db.close();
    }
  });
});

Deno.test("5xx is retried with backoff; when it persists the run stops with 20, the rest still pending, and a re-run converges", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    // The first chunk goes through; then Wealthfolio fails every attempt of the second.
    const first = s.wf.hold({ method: "POST", path: "/activities/bulk" }, { afterHandling: true });
    const running = s.push({ batchSize: 5 });
    await first.reached;
    for (let i = 0; i < 4; i++) {
      s.wf.fault({ on: { method: "POST", path: "/activities/bulk" }, kind: "status", status: 503 });
    }
    first.release();
    const report = await running;
    assert.equal(report.stopped?.exitCode, EXIT.WF_UNAVAILABLE);
    assert.match(report.stopped!.message, /POST \/activities\/bulk: HTTP 503 .*after 4 attempts/);
    assert.deepEqual(s.sleeps, [500, 1000, 2000]);
    assert.equal(s.wf.state.activities.length, 5);
    assert.equal(report.pending, 8);
    const db = s.db();
    try {
      const run = db.prepare("SELECT outcome, exit_code FROM runs WHERE id = ?").get(report.runId!);
      assert.deepEqual({ ...run }, { outcome: "failed", exit_code: EXIT.WF_UNAVAILABLE });
      assert.equal(Object.keys(syncRecords(db)).length, 5);
    } finally {
      db.close();
    }

    const again = await s.push({ batchSize: 5 });
    assert.equal(again.stopped, null);
    assert.equal(Object.values(created(again)).reduce((a, b) => a + b, 0), 8);
    assert.equal(s.wf.state.activities.length, 13);
  });
});

Deno.test("a bulk call that timed out but landed is not sent twice into Wealthfolio", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    s.wf.fault({ on: { method: "POST", path: "/activities/bulk" }, kind: "delay", ms: 300 });
    const report = await s.push({
      client: { timeoutMs: 150, sleep: () => new Promise((r) => setTimeout(r, 400)) },
    });
    assert.equal(report.stopped, null);
    const keys = wfActivities(s.wf).map((a) => a.key);
    assert.equal(keys.length, 13);
    assert.equal(new Set(keys).size, 13);
    const db = s.db();
    try {
      assert.equal(Object.values(journalStates(db)).filter((x) => x === "pushed").length, 13);
      const ids = new Map(s.wf.state.activities.map((a) => [a.idempotencyKey, a.id]));
      assert.deepEqual(syncRecords(db), Object.fromEntries([...ids].sort()));
    } finally {
      db.close();
    }
  });
});

Deno.test("bulk bodies stay under Wealthfolio's 2 MiB limit; a smaller limit (413) splits them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-push-big-" });
  try {
    const statement = await generateStatement(`${dir}/big.xml`, {
      trades: 4_000,
      cashTransactions: 200,
      accountId: "U1234567",
      seed: 7,
    });
    await withPush({}, async (s) => {
      s.backfill(statement.path);
      const report = await s.push();
      assert.equal(report.stopped, null);
      const bulk = s.wf.requests.filter((r) => r.path === "/api/v1/activities/bulk");
      assert.ok(bulk.length >= 2, `${bulk.length} bulk calls`);
      for (const r of bulk) {
        assert.equal(r.status, 200);
        assert.ok(r.bodyBytes <= MAX_BODY_BYTES, `${r.bodyBytes} bytes`);
      }
      const total = bulk.reduce((n, r) => n + r.bodyBytes, 0);
      assert.ok(total > 2 * 1024 * 1024, "the push as a whole was larger than one body may be");
      const db = s.db();
      const pending = db.prepare(
        "SELECT COUNT(*) AS n FROM activities WHERE state IN ('pending', 'pushed')",
      ).get() as { n: number };
      db.close();
      assert.equal(s.wf.state.activities.length, pending.n);
    });
    await withPush({ wf: { bodyLimitBytes: 300_000 } }, async (s) => {
      s.backfill(statement.path);
      const report = await s.push();
      assert.equal(report.stopped, null);
      const statuses = s.wf.requests.filter((r) => r.path === "/api/v1/activities/bulk")
        .map((r) => r.status);
      assert.ok(statuses.includes(413));
      assert.equal(report.failed.length, 0);
      assert.equal(report.pending, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an account that tracks HOLDINGS is refused before anything is written", async () => {
  await withPush({ trackingMode: "HOLDINGS" }, async (s) => {
    s.backfill(FIXTURE);
    const journal = journalPath(s.dataDir);
    const before = await sha256OfFile(journal);
    await assert.rejects(() => s.push(), (e: Error) => {
      assert.ok(e instanceof WealthfolioAccountError);
      assert.match(e.message, /tracks HOLDINGS.*Set its tracking mode to TRANSACTIONS/);
      return true;
    });
    assert.equal(await sha256OfFile(journal), before);
    assert.equal(s.wf.state.activities.length, 0);
    assert.ok(calls(s.wf).every((c) => c.startsWith("GET ") || c.includes("/auth/")));
  });
});

Deno.test("a missing or archived target account is refused, naming it", async () => {
  await withPush({}, async (s) => {
    s.backfill(FIXTURE);
    const push = (id: string) =>
      s.push({
        wealthfolio: {
          baseUrl: s.wf.baseUrl,
          password: "wf-test-password-7",
          sessionPath: `${s.dataDir}/wealthfolio-session.json`,
          defaultAccountId: id,
        },
      });
    await assert.rejects(() => push("no-such-account"), /has no account no-such-account/);
    const archived = s.wf.addAccount({ name: "Old", currency: "GBP", isArchived: true });
    await assert.rejects(() => push(archived.id), /\(Old\).* is archived/);
    assert.equal(s.wf.state.activities.length, 0);
  });
});

Deno.test("a security with no trade in the journal is not guessed: failed with what to do, booked once the asset exists", async () => {
  await withPush({}, async (s) => {
    s.backfill(`${CORRECTIONS}/dividend-2025-04.xml.fixture`);
    const plan = await s.push({ dryRun: true });
    assert.equal(plan.accounts[0].failed, 1);
    const report = await s.push();
    assert.equal(report.accounts[0].failed, 1);
    assert.match(report.failed[0].reason, /no quote currency known for KO@XNYS/);
    assert.deepEqual(created(report), { TAX: 1 });

    await createAsset(s.wf, { symbol: "KO", mic: "XNYS", quoteCcy: "USD" });
    const retried = await s.push({ retryFailed: true });
    assert.deepEqual(created(retried), { DIVIDEND: 1 });
    assert.deepEqual(retried.accounts[0].assets.map((a) => a.outcome), ["existing"]);
    assert.equal(wfActivities(s.wf).find((a) => a.type === "DIVIDEND")!.asset, "EQUITY:KO@XNYS");
  });
});

Deno.test("a reversal of a pushed dividend deletes it and its tax from Wealthfolio; the re-credit is created", async () => {
  await withPush({}, async (s) => {
    await createAsset(s.wf, { symbol: "KO", mic: "XNYS", quoteCcy: "USD" });
    s.backfill(`${CORRECTIONS}/dividend-2025-04.xml.fixture`);
    await s.push();
    assert.deepEqual(wfActivities(s.wf).map((a) => [a.type, a.amount]), [
      ["DIVIDEND", "25.5"],
      ["TAX", "3.83"],
    ]);
    s.backfill(`${CORRECTIONS}/dividend-reversal-2025-05.xml.fixture`);
    const plan = await s.push({ dryRun: true });
    assert.deepEqual(plan.corrections.map((c) => [c.targetKey, c.outcome]), [
      [K("32002301"), "will-delete"],
    ]);
    const report = await s.push();
    assert.deepEqual(report.corrections.map((c) => [c.targetKey, c.outcome]), [
      [K("32002301"), "deleted"],
    ]);
    // The withholding refund compensates the tax already pushed (docs/cli.md, corrections).
    assert.deepEqual(created(report), { CREDIT: 1, DIVIDEND: 1, TAX: 1 });
    assert.deepEqual(created(plan), created(report));
    assert.deepEqual(wfActivities(s.wf).map((a) => [a.key, a.type, a.amount]), [
      [K("32002302"), "TAX", "3.83"],
      [K("32002402"), "CREDIT", "3.83"],
      [K("32002403"), "DIVIDEND", "25.75"],
      [K("32002404"), "TAX", "3.86"],
    ]);
    const db = s.db();
    try {
      const corrections = db.prepare("SELECT state, run_id FROM corrections").all();
      assert.equal(corrections.length, 1);
      assert.ok(corrections.every((c) => c.state === "applied" && c.run_id === report.runId));
      assert.equal(journalStates(db)[K("32002301")], "superseded");
      assert.equal(
        syncRecords(db)[K("32002301")],
        undefined,
        "the deleted one is no longer synced",
      );
    } finally {
      db.close();
    }
  });
});

Deno.test("a journal rebuilt from the statements creates nothing new and deletes a superseded row Wealthfolio still holds", async () => {
  await withPush({}, async (s) => {
    await createAsset(s.wf, { symbol: "KO", mic: "XNYS", quoteCcy: "USD" });
    // The first journal pushed the April dividend; then it was lost before the reversal came.
    s.backfill(FIXTURE, `${CORRECTIONS}/dividend-2025-04.xml.fixture`);
    await s.push();
    const pushed = wfActivities(s.wf).length;
    assert.equal(pushed, 15);
    await Deno.remove(journalPath(s.dataDir));

    // The new journal sees the dividend and its reversal together: both superseded.
    s.backfill(
      FIXTURE,
      `${CORRECTIONS}/dividend-2025-04.xml.fixture`,
      `${CORRECTIONS}/dividend-reversal-2025-05.xml.fixture`,
    );
    const before = s.wf.state.activities.map((a) => a.id);
    const report = await s.push();
    assert.deepEqual(
      report.corrections.map((c) => [c.targetKey, c.reason, c.outcome]).sort(),
      [
        [K("32002301"), "superseded-but-in-wealthfolio", "deleted"],
        [K("32002302"), "superseded-but-in-wealthfolio", "deleted"],
      ].sort(),
    );
    assert.equal(report.accounts[0].alreadyInWealthfolio, 13);
    assert.deepEqual(created(report), { DIVIDEND: 1, TAX: 1 }, "only the re-credit is new");
    const after = s.wf.state.activities.map((a) => a.id);
    assert.equal(after.filter((id) => !before.includes(id)).length, 2);
  });
});
