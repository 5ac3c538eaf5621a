/**
 * `backfill --from D [--to D]`: history from the Flex Web Service in ≤365-day windows, each
 * recorded so an interrupted backfill resumes; alone or combined with saved files.
 */
import assert from "node:assert/strict";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { FlexWindowsResult } from "../../src/app/flex_windows.ts";
import {
  countRows,
  flexEnv,
  newYorkToday,
  readJournal,
  requestedWindows,
  runFlexCli,
  sampleFlex,
  shiftDays,
  TOKEN,
  windowRows,
} from "./_flex.ts";
import { ENTRY_POINT, PERMISSION_FLAGS } from "../../scripts/permissions.ts";
import { type CliResult, FIXTURE, parseJson, showRun, tempDataDir } from "./run_cli.ts";
import { onPath } from "../support/tools.ts";

type BackfillJson = BackfillResult & { service: FlexWindowsResult | null };

const THREE_WINDOWS = [
  "2023-01-01..2023-12-31",
  "2024-01-01..2024-12-30",
  "2024-12-31..2025-06-30",
];

Deno.test("backfill --from: ≤365-day windows in order, paced by the token's rate limit, no bar when piped", async () => {
  // The stand-in's real limit (1 request/s, 10/min): the CLI must never trip it.
  const flex = await sampleFlex({ minIntervalMs: 1000, rateLimitPerMinute: 10 });
  try {
    const dataDir = await tempDataDir();
    const r = await runFlexCli(["backfill", "--from", "2023-01-01", "--to", "2025-06-30"], {
      dataDir,
      env: flexEnv(flex),
    });
    assert.equal(r.code, 0, showRun(r));
    assert.deepEqual(requestedWindows(flex), THREE_WINDOWS);
    assert.deepEqual(flex.calls.map((c) => c.endpoint), [
      "SendRequest",
      "GetStatement",
      "SendRequest",
      "GetStatement",
      "SendRequest",
      "GetStatement",
    ]);
    const gaps = flex.calls.slice(1).map((c, i) => c.at - flex.calls[i].at);
    assert.ok(gaps.every((g) => g >= 990), `calls ≥ 1 s apart: ${gaps}`);
    assert.deepEqual(
      windowRows(dataDir).map((w) => [`${w.from_date}..${w.to_date}`, w.state, w.command]),
      THREE_WINDOWS.map((w) => [w, "mapped", "backfill"]),
    );
    // The log says per window what happened; no progress bar off a terminal.
    assert.match(r.stderr, /3 window\(s\): 2023-01-01\.\.2023-12-31, /);
    assert.match(r.stderr, /3\/3 2024-12-31\.\.2025-06-30: journaled/);
    assert.doesNotMatch(r.stderr, /[█░]/);
    assert.match(r.stdout, /Flex query 987654 2024-12-31\.\.2025-06-30: journaled, 2 call\(s\)/);
  } finally {
    await flex.close();
  }
});

Deno.test("an interrupted backfill resumes: window 2 fails fatally, the rerun does not ask for window 1 again", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const env = flexEnv(flex);
    // Window 1 goes through; window 2's SendRequest is refused (1003: fatal for the run).
    flex.script([
      { kind: "delay", ms: 0, on: "SendRequest" },
      { kind: "error", code: "1003", on: "SendRequest" },
    ]);
    const first = await runFlexCli(
      ["--json", "backfill", "--from", "2023-01-01", "--to", "2025-06-30"],
      { dataDir, env },
    );
    assert.equal(first.code, 18, showRun(first));
    assert.equal(first.stdout, "", "a failed run prints no JSON");
    assert.match(
      first.stderr,
      /broker-sync: Flex Web Service SendRequest: IBKR error 1003 "Statement is not available\." — /,
    );
    assert.deepEqual(requestedWindows(flex), THREE_WINDOWS.slice(0, 2));
    assert.deepEqual(
      windowRows(dataDir).map((w) => [`${w.from_date}..${w.to_date}`, w.state]),
      [[THREE_WINDOWS[0], "mapped"], [THREE_WINDOWS[1], "failed"]],
    );
    assert.match(windowRows(dataDir)[1].error ?? "", /IBKR error 1003/);
    const activitiesAfterFirst = countRows(dataDir, "activities");
    assert.ok(activitiesAfterFirst > 0, "window 1 stays journaled");
    assert.equal(countRows(dataDir, "runs", "outcome = 'failed' AND exit_code = 18"), 1);

    const second = await runFlexCli(
      ["--json", "backfill", "--from", "2023-01-01", "--to", "2025-06-30"],
      { dataDir, env },
    );
    assert.equal(second.code, 0, showRun(second));
    assert.deepEqual(requestedWindows(flex), [
      ...THREE_WINDOWS.slice(0, 2),
      ...THREE_WINDOWS.slice(1),
    ]);
    const out = parseJson<BackfillJson>(second);
    assert.deepEqual(out.files, []);
    assert.deepEqual(
      out.service?.windows.map((w) => [w.fromDate, w.outcome, w.calls]),
      [["2023-01-01", "already-fetched", 0], ["2024-01-01", "journaled", 2], [
        "2024-12-31",
        "journaled",
        2,
      ]],
    );
    assert.deepEqual(windowRows(dataDir).map((w) => w.state), ["mapped", "mapped", "mapped"]);
    // Same rows in every window: the same keys, never a second copy.
    assert.equal(countRows(dataDir, "activities"), activitiesAfterFirst);

    // A third run has nothing left to ask.
    const third = await runFlexCli(["backfill", "--from", "2023-01-01", "--to", "2025-06-30"], {
      dataDir,
      env,
    });
    assert.equal(third.code, 0, showRun(third));
    assert.equal(requestedWindows(flex).length, 4);
    assert.match(third.stdout, /2023-01-01\.\.2023-12-31: already-fetched/);
  } finally {
    await flex.close();
  }
});

Deno.test("backfill FILE… --from D: saved history and the service's newer windows under the same keys", async () => {
  const flex = await sampleFlex();
  try {
    const dataDir = await tempDataDir();
    const fileOnly = await tempDataDir();
    const env = flexEnv(flex);
    const reference = await runFlexCli(["backfill", FIXTURE], { dataDir: fileOnly, env });
    assert.equal(reference.code, 0, showRun(reference));

    const r = await runFlexCli(
      ["--json", "backfill", FIXTURE, "--from", "2025-07-01", "--to", "2025-12-31"],
      { dataDir, env },
    );
    assert.equal(r.code, 0, showRun(r));
    const out = parseJson<BackfillJson>(r);
    assert.equal(out.files.length, 1);
    assert.equal(out.files[0].outcome, "journaled");
    assert.deepEqual(out.service?.windows.map((w) => w.outcome), ["journaled"]);
    assert.ok((out.service?.windows[0].mapping?.unchanged ?? 0) > 0);
    assert.deepEqual(requestedWindows(flex), ["2025-07-01..2025-12-31"]);
    const keys = (dir: string) =>
      readJournal(
        dir,
        (db) =>
          (db.prepare("SELECT key FROM activities ORDER BY key").all() as { key: string }[]).map((
            x,
          ) => x.key),
      );
    assert.deepEqual(keys(dataDir), keys(fileOnly), "the service's rows did not add a key");
    assert.equal(countRows(dataDir, "statements", "source = 'file'"), 1);
    assert.equal(countRows(dataDir, "statements", "source = 'flex-ws'"), 1);
  } finally {
    await flex.close();
  }
});

Deno.test("backfill usage errors: nothing to do, --to without --from, dates in the future or reversed", async () => {
  const dataDir = await tempDataDir();
  const env = flexEnv({ baseUrl: "http://127.0.0.1:9/AccountManagement/FlexWebService" });
  const cases: [string[], RegExp][] = [
    [["backfill"], /nothing to backfill: give statement files or directories, or --from DATE/],
    [["backfill", FIXTURE, "--to", "2025-01-01"], /--to needs --from/],
    [["backfill", "--from", shiftDays(newYorkToday(), 2)], /--from \S+ is in the future/],
    [
      ["backfill", "--from", "2025-03-01", "--to", "2025-02-01"],
      /--from 2025-03-01 is after --to 2025-02-01/,
    ],
    [["backfill", "--from", "2025-02-30"], /"2025-02-30" is not a YYYY-MM-DD date/],
  ];
  for (const [args, says] of cases) {
    const r = await runFlexCli(args, { dataDir, env });
    assert.equal(r.code, 2, showRun(r));
    assert.match(r.stderr, says);
  }
});

Deno.test("backfill --from refuses a bad Flex setting before any file is journaled", async () => {
  const dataDir = await tempDataDir();
  const r = await runFlexCli(["backfill", FIXTURE, "--from", "2025-07-01"], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567", IBKR_FLEX_QUERY_ID: "987654" },
  });
  assert.equal(r.code, 2, showRun(r));
  assert.match(r.stderr, /no Flex token/);
  const { exists, journalFile } = await import("./run_cli.ts");
  assert.equal(await exists(journalFile(dataDir)), false);
});

/** Runs the CLI under a pseudo-terminal (util-linux `script`), stdout and stderr merged. */
async function runOnTerminal(args: string[], env: Record<string, string>): Promise<CliResult> {
  const quoted = [Deno.execPath(), "run", ...PERMISSION_FLAGS, ENTRY_POINT, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", quoted, "/dev/null"],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test({
  name:
    "on a terminal backfill --from shows a progress bar (and no per-window log lines); --json none",
  ignore: !(await onPath("script")),
  fn: async () => {
    const flex = await sampleFlex();
    try {
      const dataDir = await tempDataDir();
      const args = [
        "--data-dir",
        dataDir,
        "backfill",
        "--from",
        "2024-01-01",
        "--to",
        "2025-06-30",
      ];
      const r = await runOnTerminal(args, flexEnv(flex));
      assert.equal(r.code, 0, showRun(r));
      assert.match(r.stdout, /windows █{20}░{20} 1\/2 2024-01-01\.\.2024-12-30/);
      assert.match(r.stdout, /windows █{40} 2\/2 2024-12-31\.\.2025-06-30/);
      assert.doesNotMatch(r.stdout, /2\/2 2024-12-31\.\.2025-06-30: journaled/);
      assert.ok(!r.stdout.includes(TOKEN));
      // A fresh journal, so the JSON run does fetch both windows too.
      const jsonArgs = ["--json", ...args.slice(0, 1), await tempDataDir(), ...args.slice(2)];
      const json = await runOnTerminal(jsonArgs, flexEnv(flex));
      assert.equal(json.code, 0, showRun(json));
      assert.equal(requestedWindows(flex).length, 4);
      assert.doesNotMatch(json.stdout, /[█░]/);
    } finally {
      await flex.close();
    }
  },
});
