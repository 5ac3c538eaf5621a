/**
 * A large document is read and mapped on a worker thread; a small one in the journal's thread.
 * Which one must never show: for every statement we have (the fixtures, every public Flex
 * sample, a generated one large enough to fill the streams between the threads) and every bad
 * input, both ways give the same journal rows, the same summary, or the same error. That holds
 * for corporate actions and transfers too, whose cost the worker asks the journal's thread for:
 * rows this document wrote, and rows an earlier document of the same run wrote.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { DocumentMapping } from "../../src/app/map_statement.ts";
import { MAPPING_VERSION } from "../../src/domain/activity.ts";
import { journalPath, openJournal, transaction } from "../../src/journal/db.ts";
import { insertStatement } from "../../src/journal/statements.ts";
import { startRun } from "../../src/journal/runs.ts";
import { generateStatement } from "../../scripts/generate_statement.ts";
import { FIXTURE, REPO_ROOT } from "../cli/run_cli.ts";
import { filesUnder } from "../support/files.ts";

const NOW = "2026-01-02T06:00:00.000Z";

interface Mapped {
  /** What finish returned, or the error that refused the document. */
  readonly result: unknown;
  /** Every table mapping writes to, row by row. */
  readonly journal: Record<string, unknown[]>;
}

/** One document of a run, and which thread reads it. */
interface RunDocument {
  readonly bytes: Uint8Array;
  readonly onWorker: boolean;
}

/**
 * Maps `bytes` into a fresh journal, pushed in pieces of `piece` bytes, on a worker thread or
 * not, inside one transaction (rolled back when the document is refused, as backfill does).
 */
function mapDocument(
  bytes: Uint8Array,
  o: { onWorker: boolean; accounts?: string[]; piece?: number },
): Promise<Mapped> {
  return mapRun([{ bytes, onWorker: o.onWorker }], o);
}

/**
 * Maps documents one after the other into a fresh journal, in one transaction as one backfill
 * of several files does; the result is what each `finish` returned.
 */
async function mapRun(
  documents: readonly RunDocument[],
  o: { accounts?: string[]; piece?: number } = {},
): Promise<Mapped> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-document-mapping-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    let result: unknown;
    try {
      result = transaction(db, () => {
        const runId = startRun(db, "backfill", NOW);
        return documents.map(({ bytes, onWorker }, i) => {
          const statementId = insertStatement(db, {
            sha256: String(i).repeat(64),
            source: "file",
            origin: `statement-${i}.xml`,
            byteSize: bytes.byteLength,
            receivedAt: NOW,
          });
          using mapping = new DocumentMapping({
            db,
            statementId,
            origin: `statement-${i}.xml`,
            accounts: o.accounts ?? [],
            recordPeriods: true,
            runId,
            now: NOW,
            onWorker,
          });
          const piece = o.piece ?? 64 * 1024;
          for (let at = 0; at < bytes.byteLength; at += piece) {
            mapping.write(bytes.subarray(at, at + piece));
          }
          return mapping.finish();
        });
      });
      if (documents.length === 1) result = (result as unknown[])[0];
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

Deno.test("every statement we have is journaled the same on a worker thread", async (t) => {
  const files = [
    FIXTURE,
    ...filesUnder(`${REPO_ROOT}/fixtures/books`, ".xml.fixture"),
    ...filesUnder(`${REPO_ROOT}/fixtures/corporate-actions`, ".xml.fixture"),
    ...filesUnder(`${REPO_ROOT}/fixtures/corrections`, ".xml.fixture"),
    ...filesUnder(`${REPO_ROOT}/../shared/flex-samples`, ".xml"),
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
  const fixture = await Deno.readTextFile(FIXTURE);
  const encode = (text: string) => new TextEncoder().encode(text);
  const cases: [string, Uint8Array][] = [
    ...filesUnder(`${REPO_ROOT}/fixtures/bad`, ".xml.bad").map((
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

/** `key → [type, symbol, quantity, unitPrice]` of the journal's activities, skips by reason. */
function booked(mapped: Mapped): Map<string, unknown> {
  return new Map<string, unknown>(
    (mapped.journal.activities as { key: string; state: string; reason: string; payload: string }[])
      .map((r): [string, unknown] => {
        if (r.state === "skipped") return [r.key, r.reason];
        const p = JSON.parse(r.payload);
        return [r.key, [p.activityType, p.symbol, p.quantity, p.unitPrice]];
      }),
  );
}

Deno.test("corporate actions priced from an earlier file of the same run map the same on a worker thread", async () => {
  const dir = `${REPO_ROOT}/fixtures/corporate-actions`;
  const history = await Deno.readFile(`${dir}/holdings-2024.xml.fixture`);
  const actions = await Deno.readFile(`${dir}/actions-2025.xml.fixture`);
  const here = await mapRun([
    { bytes: history, onWorker: false },
    { bytes: actions, onWorker: false },
  ], { piece: 4096 });
  for (
    const onWorker of [[false, true], [true, true]]
  ) {
    const run = await mapRun([
      { bytes: history, onWorker: onWorker[0] },
      { bytes: actions, onWorker: onWorker[1] },
    ], { piece: 4096 });
    assert.deepEqual(run.result, here.result, `threads ${onWorker}`);
    assert.deepEqual(run.journal, here.journal, `threads ${onWorker}`);
  }
  // The worker's costs came from the first file: alone, the same actions know none of them.
  const withHistory = booked(here);
  const alone = booked(await mapDocument(actions, { onWorker: true, piece: 4096 }));
  const key = (id: string) => `ibkr:U1234567:${id}`;
  // RS 1 FOR 10 with a new ISIN: 150 XYZ bought for 1002 + 600 come in as 15 XYZD at 106.8.
  assert.deepEqual(withHistory.get(key("35100002")), ["TRANSFER_IN", "XYZD", "15", "106.8"]);
  assert.deepEqual(alone.get(key("35100002")), ["TRANSFER_IN", "XYZD", "15", null]);
  const differing = [...withHistory].filter(([k, v]) =>
    JSON.stringify(alone.get(k)) !== JSON.stringify(v)
  );
  assert.ok(differing.length >= 3, `rows the history priced: ${differing.length}`);
});

/** `count` buys of one XYZ share, each sold again the same day: the position stays, its lots churn. */
function xyzChurn(count: number): string {
  let rows = "";
  for (let i = 0; i < count; i++) {
    for (const [side, sign] of [["BUY", ""], ["SELL", "-"]]) {
      const id = 36000000 + i * 2 + (side === "SELL" ? 1 : 0);
      const price = (11 + (i % 50) / 10).toFixed(1);
      rows += `<Trade accountId="U1234567" currency="USD" fxRateToBase="0.79" assetCategory="STK"
        subCategory="COMMON" symbol="XYZ" description="XYZ CORP" conid="100001"
        isin="US9999000011" listingExchange="NASDAQ" multiplier="1" tradeID="8${id}"
        transactionID="${id}" reportDate="2025-01-15" tradeDate="2025-01-15"
        dateTime="2025-01-15;10:00:00" transactionType="ExchTrade" exchange="ISLAND"
        quantity="${sign}1" tradePrice="${price}" tradeMoney="${sign}${price}"
        proceeds="${sign === "" ? "-" : ""}${price}" taxes="0" ibCommission="-0.35"
        ibCommissionCurrency="USD" netCash="0" buySell="${side}" openCloseIndicator="O" notes=""
        levelOfDetail="EXECUTION" />\n`;
    }
  }
  return rows;
}

Deno.test("a position whose history fills the streams between the threads is priced the same on a worker thread", async () => {
  // 6,000 trades of XYZ before its reverse split: their lines fill the ring back to the journal's
  // thread while the worker asks about XYZ, and the answer (every standing XYZ activity, ~2.5 MB)
  // is many times the answer stream.
  const dir = `${REPO_ROOT}/fixtures/corporate-actions`;
  const history = await Deno.readFile(`${dir}/holdings-2024.xml.fixture`);
  const actions = (await Deno.readTextFile(`${dir}/actions-2025.xml.fixture`))
    .replace("<Trades>", `<Trades>\n${xyzChurn(3_000)}`);
  const bytes = new TextEncoder().encode(actions);
  assert.ok(bytes.byteLength > 3_000_000);
  const here = await mapRun([
    { bytes: history, onWorker: false },
    { bytes, onWorker: false },
  ], { piece: 1 << 20 });
  const worker = await mapRun([
    { bytes: history, onWorker: false },
    { bytes, onWorker: true },
  ], { piece: 1 << 20 });
  assert.deepEqual(worker.result, here.result);
  assert.deepEqual(worker.journal, here.journal);
  const key = (id: string) => `ibkr:U1234567:${id}`;
  const split = booked(worker).get(key("35100002")) as string[];
  assert.deepEqual(split.slice(0, 3), ["TRANSFER_IN", "XYZD", "15"]);
  assert.notEqual(split[3], null, "the churned lots still carry a cost");
  assert.notEqual(split[3], "106.8", "the churn changed which lots are left");
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
    const bytes = await Deno.readFile(FIXTURE);
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
