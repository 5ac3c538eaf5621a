/**
 * `fetch` as an operator sees it: the real CLI against the loopback Flex stand-in, asserting
 * exit codes, messages, the calls IBKR received, and what the journal holds afterwards.
 */
import assert from "node:assert/strict";
import type { FlexWindowsResult } from "../../src/app/flex_windows.ts";
import { insertStatement, StatementChunkWriter } from "../../src/journal/statements.ts";
import { openJournal, transaction } from "../../src/journal/db.ts";
import { recordFetchWindow } from "../../src/journal/fetch_windows.ts";
import { startRun } from "../../src/journal/runs.ts";
import { startFlexStandIn } from "../standins/flex_service.ts";
import {
  ACCOUNT,
  assertNoTokenInJournal,
  closedPort,
  countRows,
  flexEnv,
  newYorkToday,
  oneDayStatementFor,
  QUERY,
  requestedWindows,
  runFlexCli,
  sampleFlex,
  sampleStatementFor,
  shiftDays,
  TOKEN,
  windowRows,
} from "./_flex.ts";
import { exists, journalFile, lines, parseJson, showRun, tempDataDir } from "./run_cli.ts";

const YESTERDAY = shiftDays(newYorkToday(), -1);

Deno.test("first fetch: the last 365 days up to yesterday, journaled raw, mapped, recorded", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["--json", "fetch"], { dataDir, env: flexEnv(flex) });
    assert.equal(r.code, 0, showRun(r));
    const from = shiftDays(YESTERDAY, -364);
    assert.deepEqual(requestedWindows(flex), [`${from}..${YESTERDAY}`]);
    assert.deepEqual(flex.calls.map((c) => c.endpoint), ["SendRequest", "GetStatement"]);
    assert.equal(flex.calls[0].params.v, "3");
    assert.match(flex.calls[0].userAgent ?? "", /^Java\/1\.8 broker-sync\//);

    const out = parseJson<FlexWindowsResult>(r);
    assert.equal(out.queryId, QUERY);
    assert.equal(out.windows.length, 1);
    const [w] = out.windows;
    assert.deepEqual([w.fromDate, w.toDate, w.outcome, w.calls], [from, YESTERDAY, "journaled", 2]);
    assert.deepEqual(w.mapping?.statements, [{
      accountId: ACCOUNT,
      fromDate: from,
      toDate: YESTERDAY,
    }]);
    assert.equal(w.mapping?.journaled.BUY, 3);
    assert.deepEqual(out.statementIds, [w.statementId]);

    // The journal keeps IBKR's bytes exactly, as a flex-ws statement of this query and window.
    const stored = await import("./_flex.ts").then((m) =>
      m.readJournal(
        dataDir,
        (db) => db.prepare("SELECT source, origin, refused, byte_size FROM statements").all(),
      )
    );
    const expected = new TextEncoder().encode(
      sampleStatementFor({
        fd: from.replaceAll("-", ""),
        td: YESTERDAY.replaceAll("-", ""),
        p: null,
        query: QUERY,
      }),
    );
    assert.equal(stored.length, 1);
    assert.deepEqual(
      { ...stored[0] },
      {
        source: "flex-ws",
        origin: `Flex query ${QUERY} ${from}..${YESTERDAY}`,
        refused: null,
        byte_size: expected.byteLength,
      },
    );
    assert.deepEqual(
      windowRows(dataDir).map((x) => [x.from_date, x.to_date, x.state, x.calls, x.command]),
      [[from, YESTERDAY, "mapped", 2, "fetch"]],
    );
    assert.ok(countRows(dataDir, "activities") > 0);
    await assertNoTokenInJournal(dataDir);
  } finally {
    await flex.close();
  }
});

Deno.test("the next fetch starts 7 days before the last fetched day (--overlap changes it)", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const env = flexEnv(flex);
    const first = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-03-31"], {
      dataDir,
      env,
    });
    assert.equal(first.code, 0, showRun(first));
    const again = await runFlexCli(["fetch"], { dataDir, env });
    assert.equal(again.code, 0, showRun(again));
    const third = await runFlexCli(["fetch", "--overlap", "30"], { dataDir, env });
    assert.equal(third.code, 0, showRun(third));
    assert.deepEqual(requestedWindows(flex), [
      "2026-01-01..2026-03-31",
      `2026-03-24..${YESTERDAY}`,
      `${shiftDays(YESTERDAY, -30)}..${YESTERDAY}`,
    ]);
    // The overlap's rows are the same keys: nothing is journaled twice.
    assert.match(again.stdout, /already in the journal: \d+/);
  } finally {
    await flex.close();
  }
});

Deno.test("a span over 365 days is asked as consecutive windows, oldest first", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch", "--from", "2024-01-01", "--to", "2025-06-30"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 0, showRun(r));
    assert.deepEqual(requestedWindows(flex), ["2024-01-01..2024-12-30", "2024-12-31..2025-06-30"]);
    assert.match(r.stdout, /Flex query 987654 2024-01-01\.\.2024-12-30: journaled, 2 call\(s\)/);
  } finally {
    await flex.close();
  }
});

Deno.test("a one-day statement for a longer window: exit 17, kept but refused, nothing mapped", async () => {
  const flex = await sampleFlex();
  flex.setStatement(oneDayStatementFor);
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-03-31"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 17, showRun(r));
    const errors = lines(r.stderr).filter((l) => l.startsWith("broker-sync:"));
    assert.deepEqual(errors, [
      `broker-sync: Flex query 987654 2026-01-01..2026-03-31: FlexStatement accountId ${ACCOUNT} ` +
      "covers 2026-03-31..2026-03-31, not the requested 2026-01-01..2026-03-31 (IBKR answered a " +
      "shorter statement) — no activities were mapped; the statement is kept, flagged refused. " +
      "Check the Flex query's period and run again",
    ]);
    assert.equal(r.stdout, "");
    assert.equal(countRows(dataDir, "statements"), 1, "the bytes IBKR sent are kept");
    assert.equal(
      countRows(dataDir, "statements", "refused LIKE '%covers 2026-03-31..2026-03-31%'"),
      1,
    );
    assert.equal(countRows(dataDir, "activities"), 0);
    assert.equal(countRows(dataDir, "statement_periods"), 0);
    assert.deepEqual(windowRows(dataDir).map((w) => w.state), ["refused"]);
    assert.equal(
      countRows(dataDir, "runs", "command = 'fetch' AND outcome = 'failed' AND exit_code = 17"),
      1,
    );
    // A later good answer maps the window (the refused statement stays as evidence).
    flex.setStatement((req) => sampleStatementFor(req));
    const again = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-03-31"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(again.code, 0, showRun(again));
    assert.deepEqual(windowRows(dataDir).map((w) => w.state), ["mapped"]);
    assert.equal(countRows(dataDir, "statements", "refused IS NOT NULL"), 1);
  } finally {
    await flex.close();
  }
});

Deno.test("a statement of another account: exit 4, kept but refused, nothing mapped", async () => {
  const flex = await sampleFlex();
  flex.setStatement((req) => sampleStatementFor(req, "U7654321"));
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-03-31"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 4, showRun(r));
    assert.match(
      r.stderr,
      /broker-sync: Flex query 987654 2026-01-01\.\.2026-03-31: FlexStatement accountId U7654321 does not match IBKR_ACCOUNT_ID_UPSTREAM=U1234567/,
    );
    assert.equal(countRows(dataDir, "statements", "refused IS NOT NULL"), 1);
    assert.equal(countRows(dataDir, "activities"), 0);
    assert.deepEqual(windowRows(dataDir).map((w) => w.state), ["refused"]);
    // verify-books and status pass a refused statement by.
    const status = await runFlexCli(["status"], { dataDir, env: flexEnv(flex) });
    assert.match(
      status.stdout,
      /1 document\(s\), \d+ bytes \(1 refused: kept as received, not mapped\)/,
    );
    const books = await runFlexCli(["verify-books"], { dataDir, env: flexEnv(flex) });
    assert.equal(books.code, 0, showRun(books));
    assert.match(books.stdout, /no statements to verify/);
  } finally {
    await flex.close();
  }
});

Deno.test("a truncated statement: exit 3, the cut bytes kept and refused", async () => {
  const flex = await sampleFlex();
  flex.script([{ kind: "truncate", bytes: 2000, on: "GetStatement" }]);
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-03-31"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 3, showRun(r));
    assert.match(
      r.stderr,
      /broker-sync: Flex query 987654 2026-01-01\.\.2026-03-31: is not well-formed XML/,
    );
    assert.equal(countRows(dataDir, "statements", "refused IS NOT NULL AND byte_size = 2000"), 1);
    assert.equal(countRows(dataDir, "activities"), 0);
  } finally {
    await flex.close();
  }
});

Deno.test("an HTML page instead of Flex XML: exit 16, its own message, no statement", async () => {
  const flex = await sampleFlex();
  flex.script([{ kind: "html", status: 404, on: "SendRequest" }]);
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch"], { dataDir, env: flexEnv(flex) });
    assert.equal(r.code, 16, showRun(r));
    assert.match(
      r.stderr,
      new RegExp(
        `broker-sync: Flex Web Service SendRequest: HTTP 404: answered with an HTML page, not Flex XML\\n`,
      ),
    );
    assert.equal(flex.calls.length, 1, "an HTML page is not retried");
    assert.equal(countRows(dataDir, "statements"), 0);
    assert.deepEqual(windowRows(dataDir).map((w) => [w.state, w.calls]), [["failed", 1]]);
  } finally {
    await flex.close();
  }
});

Deno.test("an unreachable server (closed port): exit 16, connection refused, three attempts", async () => {
  const dataDir = await tempDataDir();
  const port = closedPort();
  const base = `http://127.0.0.1:${port}/AccountManagement/FlexWebService`;
  const r = await runFlexCli(["fetch"], { dataDir, env: flexEnv({ baseUrl: base }) });
  assert.equal(r.code, 16, showRun(r));
  assert.match(
    r.stderr,
    new RegExp(
      `broker-sync: Flex Web Service SendRequest: http://127\\.0\\.0\\.1:${port}/AccountManagement/FlexWebService/SendRequest: connection refused \\(3 attempts\\)`,
    ),
  );
  assert.deepEqual(windowRows(dataDir).map((w) => [w.state, w.calls]), [["failed", 3]]);
});

Deno.test("token expired (1012): exit 10 with the operator's fix; nothing journaled but the failure", async () => {
  const flex = await sampleFlex();
  flex.script([{ kind: "error", code: "1012", on: "SendRequest" }]);
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch"], { dataDir, env: flexEnv(flex) });
    assert.equal(r.code, 10, showRun(r));
    assert.match(
      r.stderr,
      /broker-sync: Flex Web Service SendRequest: IBKR error 1012 "Token has expired\." — generate a new token/,
    );
    assert.equal(countRows(dataDir, "statements"), 0);
    assert.equal(countRows(dataDir, "runs", "outcome = 'failed' AND exit_code = 10"), 1);
  } finally {
    await flex.close();
  }
});

Deno.test("a <Url> on a foreign host: refused with a warning, GetStatement asked of the configured base", async () => {
  const foreign = await startFlexStandIn({ token: TOKEN, queryId: QUERY });
  const flex = await sampleFlex({ urlHost: `${foreign.baseUrl}/GetStatement` });
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["fetch", "--from", "2026-01-01", "--to", "2026-01-31"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 0, showRun(r));
    assert.equal(foreign.calls.length, 0, "the token never went to the foreign host");
    assert.deepEqual(flex.calls.map((c) => c.endpoint), ["SendRequest", "GetStatement"]);
    assert.match(
      r.stderr,
      new RegExp(`GetStatement URL on ${new URL(foreign.baseUrl).origin}, which is neither https`),
    );
  } finally {
    await flex.close();
    await foreign.close();
  }
});

Deno.test("a crash after the download: the next run maps the stored statement without asking IBKR", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const window = { from: "2026-02-01", to: "2026-02-28" };
    // The state a run leaves when it dies between committing the bytes and mapping them.
    const db = openJournal(journalFile(dataDir), { create: true });
    transaction(db, () => {
      const runId = startRun(db, "fetch", new Date().toISOString());
      const bytes = new TextEncoder().encode(
        sampleStatementFor({ fd: "20260201", td: "20260228", p: null, query: QUERY }),
      );
      const id = insertStatement(db, {
        sha256: "0".repeat(64),
        source: "flex-ws",
        origin: `Flex query ${QUERY} 2026-02-01..2026-02-28`,
        byteSize: bytes.byteLength,
        receivedAt: new Date().toISOString(),
      });
      const chunks = new StatementChunkWriter(db, id);
      chunks.write(bytes);
      chunks.close();
      recordFetchWindow(db, {
        queryId: QUERY,
        window,
        command: "fetch",
        state: "downloaded",
        statementId: id,
        calls: 2,
        error: null,
        runId,
        updatedAt: new Date().toISOString(),
      });
    });
    db.close();

    const r = await runFlexCli(["--json", "fetch", "--from", "2026-02-01", "--to", "2026-02-28"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 0, showRun(r));
    const out = parseJson<FlexWindowsResult>(r);
    assert.deepEqual(out.windows.map((w) => [w.fromDate, w.outcome]), [[
      "2026-02-01",
      "recovered",
    ]]);
    assert.equal(flex.calls.length, 0, "IBKR was not asked again");
    assert.deepEqual(windowRows(dataDir).map((w) => w.state), ["mapped"]);
    assert.ok(countRows(dataDir, "activities") > 0);
  } finally {
    await flex.close();
  }
});

Deno.test("fetch without a token or query: exit 2 naming the variable", async () => {
  const dataDir = await tempDataDir();
  const noToken = await runFlexCli(["fetch"], { dataDir, env: { IBKR_FLEX_QUERY_ID: QUERY } });
  assert.equal(noToken.code, 2, showRun(noToken));
  assert.match(noToken.stderr, /no Flex token: set IBKR_FLEX_TOKEN/);
  const noQuery = await runFlexCli(["fetch"], { dataDir, env: { IBKR_FLEX_TOKEN: TOKEN } });
  assert.equal(noQuery.code, 2, showRun(noQuery));
  assert.match(noQuery.stderr, /no Flex query: set IBKR_FLEX_QUERY_ID/);
  const plainHttp = await runFlexCli(["fetch"], {
    dataDir,
    env: flexEnv({ baseUrl: "http://flex.example/AccountManagement/FlexWebService" }),
  });
  assert.equal(plainHttp.code, 2, showRun(plainHttp));
  assert.match(plainHttp.stderr, /IBKR_FLEX_BASE_URL: "http:\/\/flex\.example" must be https/);
  const future = await runFlexCli(["fetch", "--to", shiftDays(newYorkToday(), 1)], {
    dataDir,
    env: flexEnv({ baseUrl: "http://127.0.0.1:9/x" }),
  });
  assert.equal(future.code, 2, showRun(future));
  assert.match(future.stderr, /--to \d{4}-\d{2}-\d{2} is in the future/);
  assert.equal(await exists(journalFile(dataDir)), false, "no journal was created");
});
