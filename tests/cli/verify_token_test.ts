/**
 * `verify-token`: one SendRequest, a verdict with its own exit code, days left before expiry,
 * and never more of the token than its last 4 characters.
 */
import assert from "node:assert/strict";
import type { FlexStep } from "../standins/flex_service.ts";
import {
  closedPort,
  countRows,
  flexEnv,
  newYorkToday,
  QUERY,
  readJournal,
  runFlexCli,
  sampleFlex,
  shiftDays,
  TOKEN,
} from "./_flex.ts";
import { exists, FIXTURE, journalFile, parseJson, showRun, tempDataDir } from "./run_cli.ts";

const ENDING = `…${TOKEN.slice(-4)}`;
const TODAY = newYorkToday();

interface TokenJson {
  token: string | null;
  verdict: string;
  code: string | null;
  ibkrMessage: string | null;
  detail: string | null;
  expiresOn: string | null;
  daysLeft: number | null;
  warnDays: number;
  expiringSoon: boolean;
  queryId: string;
  exitCode: number;
  recorded: boolean;
}

const OUTCOMES: { name: string; steps: FlexStep[]; verdict: string; exit: number; says: RegExp }[] =
  [
    {
      name: "expired (1012)",
      steps: [{ kind: "error", code: "1012" }],
      verdict: "expired",
      exit: 10,
      says: /: expired — IBKR 1012 "Token has expired\.": generate a new token/,
    },
    {
      name: "IP-restricted (1013)",
      steps: [{ kind: "error", code: "1013" }],
      verdict: "ip-restricted",
      exit: 12,
      says: /: ip-restricted — IBKR 1013 "IP restriction\.": the token is bound to another IP/,
    },
    {
      name: "service inactive (1011)",
      steps: [{ kind: "error", code: "1011" }],
      verdict: "service-inactive",
      exit: 13,
      says:
        /: service-inactive — IBKR 1011 "Service account is inactive\.": enable the Flex Web Service/,
    },
    {
      name: "account invalid (1016)",
      steps: [{ kind: "error", code: "1016" }],
      verdict: "account-invalid",
      exit: 15,
      says: /: account-invalid — IBKR 1016 "Account is invalid\."/,
    },
    {
      name: "throttled (1018): no verdict, try later",
      steps: [{ kind: "error", code: "1018" }],
      verdict: "undetermined",
      exit: 16,
      says: /: undetermined — IBKR 1018 "Too many requests/,
    },
    {
      name: "an HTML page",
      steps: [{ kind: "html", status: 503 }],
      verdict: "unreachable",
      exit: 16,
      says: /: unreachable — HTTP 503: answered with an HTML page, not Flex XML/,
    },
    {
      name: "a code waiting cannot fix (1020)",
      steps: [{ kind: "error", code: "1020" }],
      verdict: "refused",
      exit: 18,
      says: /: refused — IBKR 1020 "Invalid request or unable to validate request\."/,
    },
  ];

Deno.test("a valid token: exit 0, one SendRequest, only the last 4 characters shown", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["verify-token"], { dataDir, env: flexEnv(flex) });
    assert.equal(r.code, 0, showRun(r));
    assert.equal(
      r.stdout,
      `token ${ENDING}: valid (IBKR accepted it for query ${QUERY})\n` +
        "expiry unknown: pass --expires-on DATE or set IBKR_FLEX_TOKEN_EXPIRES to be warned\n",
    );
    assert.deepEqual(flex.calls.map((c) => c.endpoint), ["SendRequest"]);
    const yesterday = shiftDays(TODAY, -1).replaceAll("-", "");
    assert.deepEqual(flex.calls[0].params, {
      t: TOKEN,
      q: QUERY,
      v: "3",
      fd: yesterday,
      td: yesterday,
    });
    assert.equal(await exists(journalFile(dataDir)), false, "no journal is created for a check");
  } finally {
    await flex.close();
  }
});

for (const o of OUTCOMES) {
  Deno.test(`verify-token: ${o.name} → ${o.verdict}, exit ${o.exit}`, async () => {
    const flex = await sampleFlex();
    flex.script([...o.steps, ...o.steps]); // one answer for the text run, one for --json
    try {
      const dataDir = await tempDataDir();
      const r = await runFlexCli(["verify-token"], { dataDir, env: flexEnv(flex) });
      assert.equal(r.code, o.exit, showRun(r));
      assert.ok(r.stdout.startsWith(`token ${ENDING}: ${o.verdict} — `), showRun(r));
      assert.match(r.stdout, o.says);
      assert.equal(flex.calls.length, 1, "one SendRequest, never retried");
      const json = await runFlexCli(["--json", "verify-token"], { dataDir, env: flexEnv(flex) });
      assert.equal(json.code, o.exit, showRun(json));
      const out = parseJson<TokenJson>(json);
      assert.deepEqual([out.token, out.verdict, out.exitCode], [ENDING, o.verdict, o.exit]);
      assert.equal(flex.calls.length, 2);
    } finally {
      await flex.close();
    }
  });
}

Deno.test("verify-token: a wrong token is invalid (exit 11), a wrong query query-invalid (exit 14)", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const wrong = "111122223333444455556666";
    const invalid = await runFlexCli(["--json", "verify-token"], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_TOKEN: wrong }),
      secrets: [wrong],
    });
    assert.equal(invalid.code, 11, showRun(invalid));
    const out = parseJson<TokenJson>(invalid);
    assert.deepEqual(
      [out.token, out.verdict, out.code, out.ibkrMessage, out.exitCode],
      ["…6666", "invalid", "1015", "Token is invalid.", 11],
    );
    const query = await runFlexCli(["verify-token"], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_QUERY_ID: "111" }),
    });
    assert.equal(query.code, 14, showRun(query));
    assert.match(
      query.stdout,
      /: query-invalid — IBKR 1014 "Query is invalid\.": IBKR_FLEX_QUERY_ID/,
    );
  } finally {
    await flex.close();
  }
});

Deno.test("verify-token: unreachable (closed port) exits 16", async () => {
  const dataDir = await tempDataDir();
  const base = `http://127.0.0.1:${closedPort()}/AccountManagement/FlexWebService`;
  const r = await runFlexCli(["verify-token"], { dataDir, env: flexEnv({ baseUrl: base }) });
  assert.equal(r.code, 16, showRun(r));
  assert.match(
    r.stdout,
    new RegExp(`token ${ENDING}: unreachable — .*SendRequest: connection refused`),
  );
});

Deno.test("days left: a warning exit 19 below --warn-days, 0 above; the env date works too", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const soon = shiftDays(TODAY, 10);
    const warn = await runFlexCli(["--json", "verify-token", "--expires-on", soon], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(warn.code, 19, showRun(warn));
    const w = parseJson<TokenJson>(warn);
    assert.deepEqual(
      [w.verdict, w.expiresOn, w.daysLeft, w.warnDays, w.expiringSoon, w.exitCode],
      ["valid", soon, 10, 30, true, 19],
    );
    const text = await runFlexCli(["verify-token"], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_TOKEN_EXPIRES: soon }),
    });
    assert.equal(text.code, 19, showRun(text));
    assert.match(text.stdout, new RegExp(`expires ${soon}: 10 day\\(s\\) left — fewer than 30`));
    const fine = await runFlexCli(["verify-token", "--expires-on", soon, "--warn-days", "7"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(fine.code, 0, showRun(fine));
    assert.match(fine.stdout, new RegExp(`expires ${soon}: 10 day\\(s\\) left\\n$`));
    const bad = await runFlexCli(["verify-token"], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_TOKEN_EXPIRES: "next year" }),
    });
    assert.equal(bad.code, 2, showRun(bad));
    assert.match(bad.stderr, /IBKR_FLEX_TOKEN_EXPIRES: "next year" is not YYYY-MM-DD/);
  } finally {
    await flex.close();
  }
});

Deno.test("a new token from --token-file or stdin is checked instead of IBKR_FLEX_TOKEN; neither is printed", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const old = "999988887777666655554444";
    const file = `${dataDir}/new-token`;
    await Deno.writeTextFile(file, `${TOKEN}\n`, { mode: 0o600 });
    const fromFile = await runFlexCli(["verify-token", "--token-file", file], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_TOKEN: old }),
      secrets: [old],
    });
    assert.equal(fromFile.code, 0, showRun(fromFile));
    assert.match(fromFile.stdout, new RegExp(`^token ${ENDING}: valid`));
    const fromStdin = await runFlexCli(["verify-token", "--token-file", "-"], {
      dataDir,
      env: flexEnv(flex, { IBKR_FLEX_TOKEN: old }),
      stdin: `${TOKEN}\n`,
      secrets: [old],
    });
    assert.equal(fromStdin.code, 0, showRun(fromStdin));
    assert.deepEqual(flex.calls.map((c) => c.params.t), [TOKEN, TOKEN], "the new token was asked");
    const empty = await runFlexCli(["verify-token", "--token-file", "-"], {
      dataDir,
      env: flexEnv(flex),
      stdin: "\n",
    });
    assert.equal(empty.code, 2, showRun(empty));
    assert.match(empty.stderr, /--token-file - \(stdin\): the token is empty/);
    const missing = await runFlexCli(["verify-token", "--token-file", `${dataDir}/nope`], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(missing.code, 2, showRun(missing));
    assert.match(missing.stderr, /--token-file .*\/nope: no such file/);
  } finally {
    await flex.close();
  }
});

Deno.test("with a journal, the check is recorded as a run: the verdict, never the token", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const backfill = await runFlexCli(["backfill", FIXTURE], { dataDir, env: flexEnv(flex) });
    assert.equal(backfill.code, 0, showRun(backfill));
    flex.script([{ kind: "error", code: "1012" }]);
    const r = await runFlexCli(["--json", "verify-token"], { dataDir, env: flexEnv(flex) });
    assert.equal(r.code, 10, showRun(r));
    assert.equal(parseJson<TokenJson>(r).recorded, true);
    const run = readJournal(dataDir, (db) =>
      db.prepare(
        "SELECT outcome, exit_code, counts FROM runs WHERE command = 'verify-token'",
      ).get() as { outcome: string; exit_code: number; counts: string });
    assert.deepEqual(
      { ...run, counts: JSON.parse(run.counts) },
      {
        outcome: "failed",
        exit_code: 10,
        counts: { verdict: "expired", code: "1012", expiresOn: null, daysLeft: null },
      },
    );
    assert.equal(countRows(dataDir, "statements"), 1, "nothing fetched or journaled but the check");
  } finally {
    await flex.close();
  }
});

Deno.test("the token in the environment is redacted from every line, whatever the command", async () => {
  const dataDir = await tempDataDir();
  // A data dir named like the token is the worst case: the path is printed in the result.
  const dir = `${dataDir}/${TOKEN}`;
  const r = await runFlexCli(["--data-dir", dir, "backfill", FIXTURE], {
    env: { IBKR_FLEX_TOKEN: TOKEN, IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
  });
  assert.equal(r.code, 0, showRun(r));
  assert.match(r.stdout, /journal: .*\/\[redacted\]\/broker-sync\.sqlite/);
});
