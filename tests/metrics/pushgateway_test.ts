import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import { groupUrl, MetricsPushError, pushMetrics } from "../../src/metrics/pushgateway.ts";
import { METRICS_JOB, type RunMetrics } from "../../src/metrics/run_metrics.ts";
import { type Pushgateway, samplesOf, startPushgateway } from "../support/pushgateway.ts";

function run(over: Partial<RunMetrics> = {}): RunMetrics {
  return {
    job: METRICS_JOB,
    command: "sync",
    accounts: [{
      account: "U1234567",
      positionDrift: [
        { symbol: "VUAG.L", drift: new Decimal("0") },
        { symbol: "AAPL", drift: new Decimal("-3") },
      ],
      cashDrift: [{ currency: "GBP", drift: new Decimal("0.5") }],
      activities: { pushed: 13, skipped: 1 },
      skippedRows: { "unknown-cash-type:Fees Rebate": 1 },
    }],
    flexErrors: { "1019": 2 },
    durationSeconds: 12.5,
    exitCode: 0,
    lastSuccess: new Date("2026-05-27T01:02:03Z"),
    tokenExpiry: new Date("2027-01-31T00:00:00Z"),
    ...over,
  };
}

async function withPushgateway(work: (pg: Pushgateway) => Promise<void>): Promise<void> {
  const pg = await startPushgateway();
  try {
    await work(pg);
  } finally {
    await pg.stop();
  }
}

function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("a pushed run shows in the Pushgateway under job and account with the runbook's names, labels and values", async () => {
  await withPushgateway(async (pg) => {
    const outcome = await pushMetrics(pg.url, run());
    assert.deepEqual(outcome, {
      pushed: true,
      groups: [`${pg.url}/metrics/job/broker-sync-ibkr/account/U1234567`],
    });
    const samples = await pg.scrape();
    const group = { job: "broker-sync-ibkr", account: "U1234567" };
    const value = (name: string, labels: Record<string, string> = {}) => {
      const found = samplesOf(samples, name, { ...group, ...labels });
      assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
      return found[0].value;
    };
    assert.equal(value("ibkr_position_drift_shares", { symbol: "AAPL" }), -3);
    assert.equal(value("ibkr_position_drift_shares", { symbol: "VUAG.L" }), 0);
    assert.equal(value("ibkr_cash_drift", { currency: "GBP" }), 0.5);
    assert.equal(value("ibkr_activities", { state: "pushed" }), 13);
    assert.equal(value("ibkr_activities", { state: "skipped" }), 1);
    assert.equal(value("ibkr_skipped_rows", { reason: "unknown-cash-type:Fees Rebate" }), 1);
    assert.equal(value("ibkr_flex_error", { code: "1019" }), 2);
    assert.equal(value("ibkr_run_duration_seconds", { command: "sync" }), 12.5);
    assert.equal(value("ibkr_run_exit_code", { command: "sync" }), 0);
    assert.equal(
      value("ibkr_sync_last_success_timestamp_seconds"),
      Date.parse("2026-05-27T01:02:03Z") / 1000,
    );
    assert.equal(
      value("ibkr_flex_token_expiry_timestamp_seconds"),
      Date.parse("2027-01-31T00:00:00Z") / 1000,
    );
    // The drift series carry exactly the runbook's labels (plus the gateway's job/instance).
    const drift = samplesOf(samples, "ibkr_position_drift_shares", { symbol: "AAPL" })[0];
    assert.deepEqual(Object.keys(drift.labels).sort(), ["account", "instance", "job", "symbol"]);
  });
});

Deno.test("a second push after the drift is fixed replaces the whole group: the old series are gone", async () => {
  await withPushgateway(async (pg) => {
    await pushMetrics(pg.url, run());
    const fixed = run({
      accounts: [{
        ...run().accounts[0],
        positionDrift: [{ symbol: "VUAG.L", drift: new Decimal("0") }],
        cashDrift: [{ currency: "GBP", drift: new Decimal("0") }],
      }],
      flexErrors: {},
      tokenExpiry: null,
    });
    assert.equal((await pushMetrics(pg.url, fixed)).pushed, true);
    const samples = await pg.scrape();
    assert.deepEqual(samplesOf(samples, "ibkr_position_drift_shares", { symbol: "AAPL" }), []);
    assert.deepEqual(
      samplesOf(samples, "ibkr_position_drift_shares").map((s) => [s.labels.symbol, s.value]),
      [["VUAG.L", 0]],
    );
    assert.deepEqual(samplesOf(samples, "ibkr_cash_drift").map((s) => s.value), [0]);
    assert.deepEqual(samplesOf(samples, "ibkr_flex_error"), []);
    assert.deepEqual(samplesOf(samples, "ibkr_flex_token_expiry_timestamp_seconds"), []);
  });
});

Deno.test("each account is its own group; a run with no account pushes one group for the job", async () => {
  await withPushgateway(async (pg) => {
    const two = run({
      accounts: [
        { ...run().accounts[0], account: "U1" },
        { ...run().accounts[0], account: "U2", cashDrift: [] },
      ],
    });
    await pushMetrics(pg.url, two);
    // Replacing U1 leaves U2 alone.
    await pushMetrics(
      pg.url,
      run({ accounts: [{ ...run().accounts[0], account: "U1", cashDrift: [] }] }),
    );
    let samples = await pg.scrape();
    assert.deepEqual(samplesOf(samples, "ibkr_cash_drift"), []);
    assert.equal(
      samplesOf(samples, "ibkr_activities", { account: "U2", state: "pushed" }).length,
      1,
    );

    await pushMetrics(pg.url, run({ accounts: [], exitCode: 12 }));
    samples = await pg.scrape();
    const jobOnly = samplesOf(samples, "ibkr_run_exit_code").filter((s) => !s.labels.account);
    assert.deepEqual(jobOnly.map((s) => [s.labels.job, s.value]), [["broker-sync-ibkr", 12]]);
  });
});

Deno.test("no PUSHGATEWAY_URL: nothing is pushed and the outcome says so", async () => {
  assert.deepEqual(await pushMetrics(null, run()), { pushed: false, reason: "no-url" });
});

Deno.test("a push to a closed port fails with MetricsPushError naming the URL, without its credentials", async () => {
  const url = closedPortUrl().replace("http://", "http://metrics:hunter2-secret@");
  const outcome = await pushMetrics(url, run());
  assert.equal(outcome.pushed, false);
  assert.ok(!outcome.pushed && outcome.reason === "failed");
  assert.ok(outcome.error instanceof MetricsPushError);
  assert.match(
    outcome.error.message,
    /^Pushgateway PUT http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/broker-sync-ibkr\/account\/U1234567: unreachable/,
  );
  assert.match(outcome.error.message, /the run's results stand/);
  assert.doesNotMatch(outcome.error.message, /hunter2/);
});

Deno.test("a Pushgateway that refuses the push is a failure with its status and answer", async () => {
  await withPushgateway(async (pg) => {
    // The gateway refuses a group whose job name is empty.
    const outcome = await pushMetrics(pg.url, run({ job: "" }));
    assert.ok(!outcome.pushed && outcome.reason === "failed");
    assert.match(outcome.error.message, /HTTP 4\d\d/);
  });
});

Deno.test("group URLs: /metrics is added once, odd label values use the base64 form", () => {
  assert.equal(
    groupUrl("http://pg:9091/", "broker-sync-ibkr", { account: "U1" }),
    "http://pg:9091/metrics/job/broker-sync-ibkr/account/U1",
  );
  assert.equal(
    groupUrl("http://pg:9091/metrics", "j", {}),
    "http://pg:9091/metrics/job/j",
  );
  assert.equal(
    groupUrl("http://pg", "j", { account: "a/b", empty: "" }),
    "http://pg/metrics/job/j/account@base64/YS9i/empty@base64/=",
  );
});

Deno.test("the push is a PUT of Prometheus text, with the URL's credentials as basic auth", async () => {
  const seen: {
    method: string;
    path: string;
    auth: string | null;
    type: string | null;
    body: string;
  }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname,
      auth: req.headers.get("authorization"),
      type: req.headers.get("content-type"),
      body: await req.text(),
    });
    return new Response(null, { status: 200 });
  });
  try {
    const url = `http://push%40er:p%3Ass@127.0.0.1:${server.addr.port}`;
    const outcome = await pushMetrics(url, run());
    assert.deepEqual(outcome, {
      pushed: true,
      groups: [
        `http://127.0.0.1:${server.addr.port}/metrics/job/broker-sync-ibkr/account/U1234567`,
      ],
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].method, "PUT");
    assert.equal(seen[0].path, "/metrics/job/broker-sync-ibkr/account/U1234567");
    assert.equal(seen[0].auth, `Basic ${btoa("push@er:p:ss")}`);
    assert.match(seen[0].type ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(seen[0].body, /^ibkr_cash_drift\{currency="GBP",account="U1234567"\} 0\.5$/m);
  } finally {
    await server.shutdown();
  }
});

Deno.test("label values with quotes, backslashes and newlines reach the Pushgateway intact", async () => {
  await withPushgateway(async (pg) => {
    const reason = 'unknown-cash-type:Fees "Rebate" \\ C:\\x\nnext';
    const outcome = await pushMetrics(
      pg.url,
      run({
        accounts: [{
          account: "U1234567",
          positionDrift: [],
          cashDrift: [],
          activities: {},
          skippedRows: { [reason]: 2 },
        }],
      }),
    );
    assert.equal(outcome.pushed, true);
    const found = samplesOf(await pg.scrape(), "ibkr_skipped_rows", { account: "U1234567" });
    assert.deepEqual(found.map((s) => [s.labels.reason, s.value]), [[reason, 2]]);
  });
});
