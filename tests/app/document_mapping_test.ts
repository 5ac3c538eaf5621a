/**
 * A large document is read and mapped on a worker thread; a small one in the journal's thread.
 * Which one must never show: for every statement we have (the fixtures, every public Flex
 * sample, a generated one large enough to fill the streams between the threads) and every bad
 * input, both ways give the same journal rows, the same summary, or the same error.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { DocumentMapping } from "../../src/app/map_statement.ts";
import { MAPPING_VERSION } from "../../src/domain/activity.ts";
import { journalPath, openJournal, transaction } from "../../src/journal/db.ts";
import { insertStatement } from "../../src/journal/statements.ts";
import { startRun } from "../../src/journal/runs.ts";
import { generateStatement } from "../../scripts/generate_statement.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";

const NOW = "2026-01-02T06:00:00.000Z";

interface Mapped {
  /** What finish returned, or the error that refused the document. */
  readonly result: unknown;
  /** Every table mapping writes to, row by row. */
  readonly journal: Record<string, unknown[]>;
}

/**
 * Maps `bytes` into a fresh journal, pushed in pieces of `piece` bytes, on a worker thread or
 * not, inside one transaction (rolled back when the document is refused, as backfill does).
 */
async function mapDocument(
  bytes: Uint8Array,
  o: { onWorker: boolean; accounts?: string[]; piece?: number },
): Promise<Mapped> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-document-mapping-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    let result: unknown;
    try {
      result = transaction(db, () => {
        const runId = startRun(db, "backfill", NOW);
        const statementId = insertStatement(db, {
          sha256: "0".repeat(64),
          source: "file",
          origin: "statement.xml",
          byteSize: bytes.byteLength,
          receivedAt: NOW,
        });
        using mapping = new DocumentMapping({
          db,
          statementId,
          origin: "statement.xml",
          accounts: o.accounts ?? [],
          recordPeriods: true,
          runId,
          now: NOW,
          onWorker: o.onWorker,
        });
        const piece = o.piece ?? 64 * 1024;
        for (let at = 0; at < bytes.byteLength; at += piece) {
          mapping.write(bytes.subarray(at, at + piece));
        }
        return mapping.finish();
      });
    } catch (e) {
      result = { error: (e as Error).constructor.name, message: (e as Error).message };
    }
    return { result, journal: tables(db) };
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function tables(db: DatabaseSync): Record<string, unknown[]> {
  const all = (sql: string) => db.prepare(sql).all().map((row) => ({ ...row }));
  return {
    activities: all("SELECT * FROM activities ORDER BY rowid"),
    statement_periods: all("SELECT * FROM statement_periods ORDER BY statement_id, ordinal"),
    statement_mappings: all("SELECT * FROM statement_mappings"),
    cancellations: all("SELECT * FROM cancellations ORDER BY key"),
    corrections: all("SELECT * FROM corrections ORDER BY id"),
  };
}

async function assertSameBothWays(
  bytes: Uint8Array,
  o: { accounts?: string[]; piece?: number } = {},
): Promise<Mapped> {
  const here = await mapDocument(bytes, { ...o, onWorker: false });
  const worker = await mapDocument(bytes, { ...o, onWorker: true });
  assert.deepEqual(worker.result, here.result);
  assert.deepEqual(worker.journal, here.journal);
  return here;
}

function xmlFilesUnder(dir: string, suffix: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...xmlFilesUnder(path, suffix));
    else if (entry.name.endsWith(suffix)) found.push(path);
  }
  return found.sort();
}

Deno.test("every statement we have is journaled the same on a worker thread", async (t) => {
  const files = [
    `${REPO_ROOT}/fixtures/U1234567-2025.xml`,
    ...xmlFilesUnder(`${REPO_ROOT}/fixtures/corrections`, ".xml.fixture"),
    ...xmlFilesUnder(`${REPO_ROOT}/../shared/flex-samples`, ".xml"),
  ];
  let journaled = 0;
  for (const file of files) {
    await t.step(file.slice(REPO_ROOT.length + 1), async () => {
      const mapped = await assertSameBothWays(await Deno.readFile(file), { piece: 4096 });
      journaled += mapped.journal.activities.length;
    });
  }
  assert.ok(journaled > 100, `the documents gave ${journaled} journal rows`);
});

Deno.test("every bad input is refused with the same error on a worker thread", async (t) => {
  const fixture = await Deno.readTextFile(`${REPO_ROOT}/fixtures/U1234567-2025.xml`);
  const encode = (text: string) => new TextEncoder().encode(text);
  const cases: [string, Uint8Array][] = [
    ...xmlFilesUnder(`${REPO_ROOT}/fixtures/bad`, ".xml.bad").map((
      f,
    ): [string, Uint8Array] => [f.slice(REPO_ROOT.length + 1), Deno.readFileSync(f)]),
    ["truncated", encode(fixture.slice(0, fixture.length / 2))],
    [
      "an unparseable tradeDate",
      encode(fixture.replace(/tradeDate="[^"]*"/, 'tradeDate="2025-13-45"')),
    ],
    [
      "a masked account",
      encode(fixture.replaceAll('accountId="U1234567"', 'accountId="U***4567"')),
    ],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, async () => {
      const mapped = await assertSameBothWays(bytes, { piece: 1024 });
      assert.ok(
        typeof mapped.result === "object" && mapped.result !== null && "error" in mapped.result,
        `${name} was refused`,
      );
      assert.deepEqual(mapped.journal.activities, [], "nothing journaled");
    });
  }
  await t.step("another account than the guard's", async () => {
    const mapped = await assertSameBothWays(encode(fixture), { accounts: ["U7654321"] });
    assert.equal((mapped.result as { error: string }).error, "AccountGuardError");
  });
});

Deno.test("a statement larger than the streams between the threads maps the same", async () => {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-document-mapping-test-" });
  try {
    const generated = await generateStatement(`${dir}/statement.xml`, {
      trades: 2_000,
      cashTransactions: 300,
      accountId: "U7654321",
      seed: 7,
    });
    // Several times what the streams hold each way (4 MiB to the worker, 1 MiB back).
    const bytes = await Deno.readFile(generated.path);
    assert.ok(bytes.byteLength > 2_000_000);
    const mapped = await assertSameBothWays(bytes, { piece: 1 << 20 });
    const { mapping } = mapped.result as ReturnType<DocumentMapping["finish"]>;
    assert.equal(
      mapping.outcomes.mapped + mapping.outcomes.skipped,
      generated.securityTrades + generated.fxTrades + (generated.rows.CashTransaction ?? 0),
    );
    assert.equal(mapped.journal.statement_mappings.length, 1);
    assert.equal(
      (mapped.journal.statement_mappings[0] as { mapping_version: number }).mapping_version,
      MAPPING_VERSION,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("giving up part-way through a document stops its worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-document-mapping-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    const bytes = await Deno.readFile(`${REPO_ROOT}/fixtures/U1234567-2025.xml`);
    assert.throws(() =>
      transaction(db, () => {
        const runId = startRun(db, "backfill", NOW);
        const statementId = insertStatement(db, {
          sha256: "1".repeat(64),
          source: "file",
          origin: "statement.xml",
          byteSize: bytes.byteLength,
          receivedAt: NOW,
        });
        using mapping = new DocumentMapping({
          db,
          statementId,
          origin: "statement.xml",
          accounts: [],
          recordPeriods: true,
          runId,
          now: NOW,
          onWorker: true,
        });
        mapping.write(bytes.subarray(0, 2000));
        throw new Error("the caller gave up");
      }), /the caller gave up/);
    // The test ends, and with it the test runner's check that nothing is left running.
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
