/**
 * A statement large enough to be read on a worker thread, backfilled through the real CLI: into
 * a new journal (the first transaction runs in rollback mode, WAL after), again as a no-op, and
 * refused for another account — with nothing left behind, and an existing journal untouched.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { BackfillResult } from "../../src/app/backfill.ts";
import { WORKER_FROM_BYTES } from "../../src/app/map_statement.ts";
import { type GeneratedStatement, generateStatement } from "../../scripts/generate_statement.ts";
import type { FlexWindowsResult } from "../../src/app/flex_windows.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { countRows, flexEnv, runFlexCli, sampleFlex, windowRows } from "./_flex.ts";
import {
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

const ACCOUNT = "U7654321";
const EXIT_ACCOUNT = 4;

let generated: Promise<GeneratedStatement> | undefined;
function largeStatement(): Promise<GeneratedStatement> {
  generated ??= tempDataDir("broker-sync-large-statement-").then((dir) =>
    generateStatement(`${dir}/large.xml`, {
      trades: 7_000,
      cashTransactions: 700,
      accountId: ACCOUNT,
      seed: 11,
    })
  );
  return generated;
}

Deno.test("a statement read on a worker thread is journaled whole, into a WAL journal", async () => {
  const statement = await largeStatement();
  assert.ok(statement.bytes >= WORKER_FROM_BYTES, "large enough for the worker thread");
  const dataDir = await tempDataDir();

  const run = await runCli(["--json", "backfill", statement.path], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT },
  });

  assert.equal(run.code, 0, showRun(run));
  const file = parseJson<BackfillResult>(run).files[0];
  assert.equal(file.outcome, "journaled");
  const mapping = file.mapping!;
  // Every importable row has its outcome: each trade execution and cash transaction.
  assert.equal(
    mapping.outcomes.mapped + mapping.outcomes.skipped,
    statement.securityTrades + statement.fxTrades + (statement.rows.CashTransaction ?? 0),
  );
  assert.equal(mapping.rows.Trade, statement.rows.Trade);
  assert.equal(mapping.ignored["trade-aggregate:Order"], statement.rows.Order);

  const db = new DatabaseSync(journalFile(dataDir), { readOnly: true });
  try {
    const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    assert.equal(mode.journal_mode, "wal");
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM activities").get() as { n: number };
    assert.equal(n, Object.values(mapping.journaled).reduce((a, b) => a + b, 0));
    const stored = db.prepare(
      "SELECT SUM(length(bytes)) AS bytes FROM statement_chunks",
    ).get() as { bytes: number };
    assert.equal(stored.bytes, statement.bytes, "the raw statement is stored whole");
  } finally {
    db.close();
  }
  assert.equal(await exists(`${journalFile(dataDir)}-journal`), false);

  const again = await runCli(["backfill", statement.path], {
    dataDir,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT },
  });
  assert.equal(again.code, 0, showRun(again));
  assert.match(again.stderr + again.stdout, /already journaled/);
});

Deno.test("a large statement of another account leaves no journal, and an existing one as it was", async () => {
  const statement = await largeStatement();
  const fresh = await tempDataDir();
  const refused = await runCli(["backfill", statement.path], {
    dataDir: fresh,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
  });
  assert.equal(refused.code, EXIT_ACCOUNT, showRun(refused));
  assert.equal(lines(refused.stderr).filter((l) => l.startsWith("broker-sync: ")).length, 1);
  assert.match(refused.stderr, new RegExp(`accountId ${ACCOUNT} does not match`));
  const left = [...Deno.readDirSync(fresh)].map((e) => e.name).filter((n) => n.includes("sqlite"));
  assert.deepEqual(left, [], "no journal file in the data dir");

  const existing = await tempDataDir();
  const first = await runCli(["backfill", FIXTURE], {
    dataDir: existing,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
  });
  assert.equal(first.code, 0, showRun(first));
  const before = await sha256OfFile(journalFile(existing));
  const again = await runCli(["backfill", statement.path], {
    dataDir: existing,
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
  });
  assert.equal(again.code, EXIT_ACCOUNT, showRun(again));
  assert.equal(await sha256OfFile(journalFile(existing)), before, "byte-for-byte unchanged");
});

Deno.test("a large fetched statement is mapped as a large file is, and refused whole when short", async () => {
  const statement = await largeStatement();
  const bytes = await Deno.readFile(statement.path);
  const flex = await sampleFlex();
  flex.setStatement(() => bytes);
  try {
    const env = flexEnv(flex, { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT });
    const dataDir = await tempDataDir();
    const fetched = await runFlexCli([
      "--json",
      "fetch",
      "--from",
      "2025-01-01",
      "--to",
      "2025-12-31",
    ], {
      dataDir,
      env,
    });
    assert.equal(fetched.code, 0, showRun(fetched));
    const [window] = parseJson<FlexWindowsResult>(fetched).windows;
    assert.deepEqual([window.outcome, window.bytes], ["journaled", statement.bytes]);
    assert.equal(window.mapping!.rows.Trade, statement.rows.Trade);
    assert.equal(
      window.mapping!.outcomes.mapped + window.mapping!.outcomes.skipped,
      statement.securityTrades + statement.fxTrades + (statement.rows.CashTransaction ?? 0),
    );

    // The statement starts 2025-01-01: a window from December 2024 is not covered.
    const shortDir = await tempDataDir();
    const short = await runFlexCli(["fetch", "--from", "2024-12-01", "--to", "2025-11-30"], {
      dataDir: shortDir,
      env,
    });
    assert.equal(short.code, EXIT.FLEX_SHORT_STATEMENT, showRun(short));
    assert.deepEqual(windowRows(shortDir).map((w) => w.state), ["refused"]);
    assert.equal(countRows(shortDir, "statements", "refused IS NOT NULL"), 1);
    assert.equal(countRows(shortDir, "activities"), 0);
  } finally {
    await flex.close();
  }
});
