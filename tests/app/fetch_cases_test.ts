/**
 * Every misbehaviour of the Flex Web Service the contract describes, through the whole fetch
 * path (client → journal → mapping) with a real SQLite journal and the loopback stand-in, on a
 * virtual clock shared by both: each case asserts the exit code, the message, the number and
 * spacing of calls, and what the journal holds. Waits of 10 s and more cost nothing here.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fetchFlexWindows, type FlexWindowsResult } from "../../src/app/flex_windows.ts";
import { classify } from "../../src/cli/failure.ts";
import { TokenRateLimiter } from "../../src/flex/pacing.ts";
import { DEFAULT_SCHEDULE, FlexServiceClient } from "../../src/flex/service_client.ts";
import { journalPath } from "../../src/journal/db.ts";
import { type FlexStep, startFlexStandIn } from "../standins/flex_service.ts";
import { ACCOUNT, oneDayStatementFor, QUERY, sampleStatementFor, TOKEN } from "../cli/_flex.ts";
import { MIDDLE, VirtualClock } from "../flex/_virtual_clock.ts";

const WINDOW = { from: "2025-01-01", to: "2025-12-31" };

interface Case {
  readonly name: string;
  readonly steps?: FlexStep[];
  readonly generationPolls?: number;
  readonly statement?: typeof sampleStatementFor;
  /** Exit code of the CLI for this outcome. */
  readonly exit: number;
  readonly says?: RegExp;
  /** Endpoint@ms after the first call. */
  readonly calls: string[];
  /** fetch_windows state, statements (refused or not), and whether activities were journaled. */
  readonly journal: {
    window: string;
    statements: { refused: boolean }[];
    activities: boolean;
  };
}

const S = "SendRequest";
const G = "GetStatement";
const MAPPED = { window: "mapped", statements: [{ refused: false }], activities: true };
const FAILED = { window: "failed", statements: [], activities: false };

const CASES: Case[] = [
  {
    name: "success at the first poll, 5 s after SendRequest",
    exit: 0,
    calls: [`${S}@0`, `${G}@5000`],
    journal: MAPPED,
  },
  {
    name: "Warn 1019 (generating) three times, then the statement",
    generationPolls: 3,
    exit: 0,
    calls: [`${S}@0`, `${G}@5000`, `${G}@10000`, `${G}@20000`, `${G}@40000`],
    journal: MAPPED,
  },
  {
    name: "Warn 1018 (too many requests): the retry waits at least 10 s",
    steps: [{ kind: "error", code: "1018", on: S }],
    exit: 0,
    calls: [`${S}@0`, `${S}@12000`, `${G}@17000`],
    journal: MAPPED,
  },
  {
    name: "Warn 1001 three times: the endpoint is suspect",
    steps: [1, 2, 3].map(() => ({ kind: "error" as const, code: "1001" as const, on: S })),
    exit: 16,
    says: /IBKR answered 1001 .* 3 times — .*IBKR_FLEX_BASE_URL/,
    calls: [`${S}@0`, `${S}@5000`, `${S}@15000`],
    journal: FAILED,
  },
  ...([
    ["1012", 10, /Token has expired\./],
    ["1015", 11, /Token is invalid\./],
    ["1013", 12, /IP restriction\./],
    ["1011", 13, /Service account is inactive\./],
    ["1014", 14, /Query is invalid\./],
    ["1016", 15, /Account is invalid\./],
    ["1003", 18, /Statement is not available\./],
  ] as const).map(([code, exit, says]): Case => ({
    name: `Fail ${code} on HTTP 200: stops at once`,
    steps: [{ kind: "error", code, on: S }],
    exit,
    says: new RegExp(`IBKR error ${code} "${says.source}`),
    calls: [`${S}@0`],
    journal: FAILED,
  })),
  {
    name: "1017 on GetStatement: one restart from SendRequest",
    steps: [{ kind: "error", code: "1017", on: G }],
    exit: 0,
    calls: [`${S}@0`, `${G}@5000`, `${S}@6250`, `${G}@11250`],
    journal: MAPPED,
  },
  {
    name: "an unknown code: fatal with IBKR's text",
    steps: [{ kind: "unknownCode", code: "1099", message: "Something new.", on: G }],
    exit: 18,
    says: /IBKR error 1099 "Something new\." — an error code broker-sync does not know/,
    calls: [`${S}@0`, `${G}@5000`],
    journal: FAILED,
  },
  {
    name: "an HTML 404 page: its own error, not retried",
    steps: [{ kind: "html", status: 404, on: G }],
    exit: 16,
    says: /GetStatement: HTTP 404: answered with an HTML page, not Flex XML/,
    calls: [`${S}@0`, `${G}@5000`],
    journal: FAILED,
  },
  {
    name: "HTTP 500 once: retried after a backoff",
    steps: [{ kind: "http", status: 500, on: G }],
    exit: 0,
    calls: [`${S}@0`, `${G}@5000`, `${G}@10000`],
    journal: MAPPED,
  },
  {
    name: "a stalled body: cut by the stall timeout, retried",
    steps: [{ kind: "stall", afterBytes: 200, on: G }],
    exit: 0,
    calls: [`${S}@0`, `${G}@5000`, `${G}@10000`],
    journal: MAPPED,
  },
  {
    name: "a truncated statement: journaled raw, then refused",
    steps: [{ kind: "truncate", bytes: 1500, on: G }],
    exit: 3,
    says: /Flex query 987654 2025-01-01\.\.2025-12-31: is not well-formed XML/,
    calls: [`${S}@0`, `${G}@5000`],
    journal: { window: "refused", statements: [{ refused: true }], activities: false },
  },
  {
    name: "a one-day statement for a year's window: short, refused",
    statement: oneDayStatementFor,
    exit: 17,
    says: /covers 2025-12-31\.\.2025-12-31, not the requested 2025-01-01\.\.2025-12-31/,
    calls: [`${S}@0`, `${G}@5000`],
    journal: { window: "refused", statements: [{ refused: true }], activities: false },
  },
  {
    name: "another account's statement: the guard refuses it",
    statement: (req) => sampleStatementFor(req, "U7654321"),
    exit: 4,
    says: /accountId U7654321 does not match IBKR_ACCOUNT_ID_UPSTREAM=U1234567/,
    calls: [`${S}@0`, `${G}@5000`],
    journal: { window: "refused", statements: [{ refused: true }], activities: false },
  },
];

for (const c of CASES) {
  Deno.test(`fetch: ${c.name} → exit ${c.exit}`, async () => {
    const clock = new VirtualClock();
    const flex = await startFlexStandIn({
      token: TOKEN,
      queryId: QUERY,
      clock: clock.read,
      generationPolls: c.generationPolls ?? 0,
    });
    const dataDir = await Deno.makeTempDir({ prefix: "broker-sync-fetch-cases-" });
    try {
      flex.setStatement(c.statement ?? ((req) => sampleStatementFor(req)));
      flex.script(c.steps ?? []);
      const client = new FlexServiceClient(
        { token: TOKEN, queryId: QUERY, baseUrl: new URL(flex.baseUrl), userAgent: "test/1" },
        { clock, limiter: new TokenRateLimiter(clock), random: MIDDLE },
        { ...DEFAULT_SCHEDULE, http: { ...DEFAULT_SCHEDULE.http, stallTimeoutMs: 150 } },
      );
      let result: FlexWindowsResult | undefined;
      let exit = 0;
      let message = "";
      try {
        result = await fetchFlexWindows({
          dataDir,
          command: "fetch",
          queryId: QUERY,
          plan: () => [WINDOW],
          skipFetched: false,
          accounts: [ACCOUNT],
          accountsSource: "IBKR_ACCOUNT_ID_UPSTREAM",
          source: client,
          now: () => new Date("2026-01-02T12:00:00Z"),
          exitCodeOf: (e) => classify(e).code,
        });
      } catch (e) {
        const failure = classify(e);
        assert.ok(failure.expected, `an anticipated failure, not a bug: ${failure.message}`);
        exit = failure.code;
        message = failure.message;
      }
      assert.equal(exit, c.exit, message);
      if (c.says) assert.match(message, c.says);
      assert.ok(!message.includes(TOKEN));
      const t0 = flex.calls[0]?.at ?? 0;
      assert.deepEqual(flex.calls.map((x) => `${x.endpoint}@${x.at - t0}`), c.calls);
      if (result) assert.equal(result.windows[0].calls, c.calls.length);

      const db = new DatabaseSync(journalPath(dataDir), { readOnly: true });
      try {
        const windows = db.prepare("SELECT state, calls, error FROM fetch_windows").all() as {
          state: string;
          calls: number;
          error: string | null;
        }[];
        assert.deepEqual(windows.map((w) => [w.state, w.calls]), [[
          c.journal.window,
          c.calls.length,
        ]]);
        assert.equal(windows[0].error, c.exit === 0 ? null : message);
        const statements = db.prepare("SELECT refused FROM statements").all() as {
          refused: string | null;
        }[];
        assert.deepEqual(
          statements.map((s) => ({ refused: s.refused !== null })),
          c.journal.statements,
        );
        const activities = Number(
          (db.prepare("SELECT COUNT(*) AS n FROM activities").get() as { n: number }).n,
        );
        assert.equal(activities > 0, c.journal.activities);
        const run = db.prepare("SELECT outcome, exit_code FROM runs").get() as {
          outcome: string;
          exit_code: number;
        };
        assert.deepEqual(
          [run.outcome, run.exit_code],
          [c.exit === 0 ? "ok" : "failed", c.exit],
        );
      } finally {
        db.close();
      }
    } finally {
      await flex.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}
