import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { type Activity, MAPPING_VERSION, type SkippedRow } from "../../src/domain/activity.ts";
import { ActivityWriter, listActivities } from "../../src/journal/activities.ts";
import { journalPath, openJournal, transaction } from "../../src/journal/db.ts";
import { JournalError, JournalLockedError } from "../../src/journal/errors.ts";
import { acquireRunLock, LOCK_FILE } from "../../src/journal/lock.ts";
import { MIGRATIONS } from "../../src/journal/migrations.ts";
import {
  CHUNK_BYTES,
  insertStatement,
  statementBytes,
  StatementChunkWriter,
} from "../../src/journal/statements.ts";

const TABLES = [
  "activities",
  "cancellations",
  "corrections",
  "fetch_windows",
  "push_chunks",
  "reconciled_accounts",
  "reconciliations",
  "runs",
  "statement_chunks",
  "statement_mappings",
  "statement_periods",
  "statements",
  "sync_records",
  "wf_assets",
];

/** Runs `work` with a fresh temporary data dir, removed afterwards whatever happens. */
async function withDataDir(work: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-journal-test-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `work` with a freshly created journal, closed afterwards. */
function withJournal(work: (db: DatabaseSync, path: string) => void | Promise<void>) {
  return withDataDir(async (dir) => {
    const path = journalPath(dir);
    const db = openJournal(path, { create: true });
    try {
      await work(db, path);
    } finally {
      db.close();
    }
  });
}

function pragma(db: DatabaseSync, name: string): unknown {
  return Object.values(db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>)[0];
}

function tables(db: DatabaseSync): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
    name: string;
  }[]).map((r) => r.name);
}

function newStatement(db: DatabaseSync, sha256 = "a".repeat(64)): number {
  return insertStatement(db, {
    sha256,
    source: "file",
    origin: "statements/2025.xml",
    byteSize: 0,
    receivedAt: "2026-01-02T06:00:00Z",
  });
}

function buy(over: Partial<Activity> = {}): Activity {
  return {
    key: "ibkr:U1:31000001",
    account: "U1",
    activityType: "BUY",
    subtype: null,
    date: "2025-01-15T15:31:07Z",
    symbol: "AAPL",
    exchangeMic: "XNAS",
    instrumentType: "EQUITY",
    name: "APPLE INC",
    isin: "US0378331005",
    conid: "265598",
    quantity: new Decimal("10"),
    unitPrice: new Decimal("228.26"),
    amount: new Decimal("2282.6"),
    fee: new Decimal("1.0005"),
    currency: "USD",
    notes: null,
    groupKey: null,
    sourceRecordId: "U1:31000001",
    metadata: null,
    ...over,
  };
}

function skipped(over: Partial<SkippedRow> = {}): SkippedRow {
  return {
    key: "ibkr:U1:31000001",
    account: "U1",
    date: "2025-01-15",
    reason: "not-yet-mapped:fx-conversion",
    summary: { section: "Trades", symbol: "EUR.USD" },
    ...over,
  };
}

function activityRow(db: DatabaseSync, key: string): Record<string, unknown> | undefined {
  return db.prepare("SELECT * FROM activities WHERE key = ?").get(key) as
    | Record<string, unknown>
    | undefined;
}

function count(db: DatabaseSync, table: string): number {
  return Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
}

// ---- opening -----------------------------------------------------------------------------------

Deno.test("openJournal creates the journal file 0600 in a 0700 data dir", () =>
  withDataDir((dir) => {
    const dataDir = `${dir}/data`;
    const path = journalPath(dataDir);
    openJournal(path, { create: true }).close();
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dataDir).mode! & 0o777, 0o700);
  }));

Deno.test("openJournal puts the journal in WAL mode, and the WAL file SQLite creates is 0600 too", () =>
  withJournal((db, path) => {
    assert.equal(pragma(db, "journal_mode"), "wal");
    assert.equal(pragma(db, "foreign_keys"), 1);
    newStatement(db);
    const wal = Deno.statSync(`${path}-wal`);
    assert.equal(wal.mode! & 0o777, 0o600);
  }));

Deno.test("openJournal creates every table and records the schema version", () =>
  withJournal((db) => {
    assert.deepEqual(tables(db), TABLES);
    assert.equal(pragma(db, "user_version"), MIGRATIONS.length);
  }));

Deno.test("openJournal without create refuses a missing journal with JournalError, creating nothing", () =>
  withDataDir((dir) => {
    const path = journalPath(dir);
    assert.throws(() => openJournal(path, { create: false }), (e: unknown) => {
      assert.ok(e instanceof JournalError);
      assert.equal(e.path, path);
      assert.match(e.message, /no journal here yet/);
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

Deno.test("reopening a journal keeps its rows and does not migrate it again", () =>
  withDataDir((dir) => {
    const path = journalPath(dir);
    const first = openJournal(path, { create: true });
    newStatement(first);
    first.exec("CREATE TABLE canary (x INTEGER)");
    first.close();

    const again = openJournal(path, { create: true });
    try {
      assert.equal(count(again, "statements"), 1);
      assert.equal(pragma(again, "user_version"), MIGRATIONS.length);
      // A re-run migration would have failed on the existing tables; the canary shows nothing
      // rebuilt the schema either.
      assert.deepEqual(tables(again), [...TABLES, "canary"].sort());
    } finally {
      again.close();
    }
    // A current journal opens read-only, which refuses any journal that still needs migrating.
    const readOnly = openJournal(path, { create: false, readOnly: true });
    assert.equal(count(readOnly, "statements"), 1);
    readOnly.close();
  }));

Deno.test("a journal whose user_version is higher than this binary knows is a JournalError mentioning a newer broker-sync", () =>
  withDataDir((dir) => {
    const path = journalPath(dir);
    openJournal(path, { create: true }).close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    assert.throws(() => openJournal(path, { create: true }), (e: unknown) => {
      assert.ok(e instanceof JournalError, `expected JournalError, got ${e}`);
      assert.match(e.message, /newer broker-sync/);
      assert.match(e.message, new RegExp(`schema ${MIGRATIONS.length + 1}`));
      return true;
    });
    const check = new DatabaseSync(path);
    assert.equal(pragma(check, "user_version"), MIGRATIONS.length + 1);
    check.close();
  }));

Deno.test("a file that is not SQLite is refused with JournalError", () =>
  withDataDir((dir) => {
    const path = journalPath(dir);
    Deno.writeTextFileSync(path, "this is not a database, it is a text file\n".repeat(200));
    assert.throws(() => openJournal(path, { create: true }), JournalError);
  }));

// ---- statements --------------------------------------------------------------------------------

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [...chunks];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

Deno.test("StatementChunkWriter and statementBytes round-trip 2.5 MiB of random bytes exactly across chunk boundaries", () =>
  withJournal((db) => {
    const bytes = randomBytes(2.5 * CHUNK_BYTES);
    const id = newStatement(db);
    const writer = new StatementChunkWriter(db, id);
    // Odd write sizes, so writes straddle the 1 MiB chunk boundaries.
    const sizes = [1, 7, 4096, 65537, CHUNK_BYTES - 3, CHUNK_BYTES + 11];
    for (let offset = 0, i = 0; offset < bytes.byteLength; i++) {
      const n = sizes[i % sizes.length];
      writer.write(bytes.subarray(offset, offset + n));
      offset += n;
    }
    writer.close();
    assert.equal(count(db, "statement_chunks"), 3);
    const stored = [...statementBytes(db, id)];
    assert.deepEqual(stored.map((c) => c.byteLength), [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES / 2]);
    assert.deepEqual(concat(stored), bytes);
  }));

Deno.test("a document of exactly one chunk is stored as one chunk, and an empty one as none", () =>
  withJournal((db) => {
    const exact = randomBytes(CHUNK_BYTES);
    const one = newStatement(db, "1".repeat(64));
    const writer = new StatementChunkWriter(db, one);
    writer.write(exact);
    writer.close();
    assert.deepEqual(concat(statementBytes(db, one)), exact);
    assert.equal([...statementBytes(db, one)].length, 1);

    const none = newStatement(db, "2".repeat(64));
    new StatementChunkWriter(db, none).close();
    assert.deepEqual([...statementBytes(db, none)], []);
  }));

Deno.test("the chunks of two documents never mix", () =>
  withJournal((db) => {
    const a = randomBytes(CHUNK_BYTES + 5);
    const b = randomBytes(17);
    const idA = newStatement(db, "a".repeat(64));
    const idB = newStatement(db, "b".repeat(64));
    const writerA = new StatementChunkWriter(db, idA);
    const writerB = new StatementChunkWriter(db, idB);
    writerA.write(a.subarray(0, 10));
    writerB.write(b);
    writerA.write(a.subarray(10));
    writerA.close();
    writerB.close();
    assert.deepEqual(concat(statementBytes(db, idA)), a);
    assert.deepEqual(concat(statementBytes(db, idB)), b);
  }));

Deno.test("a statement's sha256 is unique: the same document cannot be stored twice", () =>
  withJournal((db) => {
    newStatement(db, "c".repeat(64));
    assert.throws(() => newStatement(db, "c".repeat(64)), /UNIQUE/);
  }));

// ---- activities --------------------------------------------------------------------------------

Deno.test("ActivityWriter journals a new activity as pending with its canonical payload", () =>
  withJournal((db) => {
    const statement = newStatement(db);
    const writer = new ActivityWriter(db, statement, 1, "2026-01-02T06:00:00Z");
    assert.equal(writer.activity(buy()), true);
    const row = activityRow(db, "ibkr:U1:31000001")!;
    assert.equal(row.state, "pending");
    assert.equal(row.activity_type, "BUY");
    assert.equal(row.business_date, "2025-01-15");
    assert.equal(row.symbol, "AAPL");
    assert.equal(row.mapping_version, 1);
    assert.equal(row.statement_id, statement);
    const payload = JSON.parse(String(row.payload));
    assert.equal(payload.quantity, "10");
    assert.equal(payload.unitPrice, "228.26");
    assert.equal(payload.fee, "1.0005");
  }));

Deno.test("ActivityWriter journals a skipped row with its reason and summary", () =>
  withJournal((db) => {
    const writer = new ActivityWriter(db, newStatement(db), 1, "2026-01-02T06:00:00Z");
    assert.equal(writer.skipped(skipped()), true);
    const [listed] = listActivities(db);
    assert.equal(listed.state, "skipped");
    assert.equal(listed.reason, "not-yet-mapped:fx-conversion");
    assert.equal(listed.activityType, null);
    assert.equal(listed.symbol, "EUR.USD");
    assert.deepEqual(listed.payload, { skipped: { section: "Trades", symbol: "EUR.USD" } });
  }));

Deno.test("the same key again with the same mapping version is left alone and reported unchanged", () =>
  withJournal((db) => {
    const first = newStatement(db, "1".repeat(64));
    const second = newStatement(db, "2".repeat(64));
    assert.equal(new ActivityWriter(db, first, 1, "t1").activity(buy()), true);
    const writer = new ActivityWriter(db, second, 1, "t2");
    assert.equal(writer.activity(buy({ fee: new Decimal("9") })), false);
    assert.equal(writer.skipped(skipped()), false);
    const row = activityRow(db, "ibkr:U1:31000001")!;
    assert.equal(JSON.parse(String(row.payload)).fee, "1.0005");
    assert.equal(row.statement_id, first);
    assert.equal(row.updated_at, "t1");
    assert.equal(count(db, "activities"), 1);
  }));

Deno.test("a pushed activity is never overwritten, even by a newer mapping version", () =>
  withJournal((db) => {
    const statement = newStatement(db);
    new ActivityWriter(db, statement, 1, "t1").activity(buy());
    db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run("ibkr:U1:31000001");
    const newer = new ActivityWriter(db, statement, 2, "t2");
    assert.equal(newer.activity(buy({ fee: new Decimal("9") })), false);
    assert.equal(newer.skipped(skipped()), false);
    const row = activityRow(db, "ibkr:U1:31000001")!;
    assert.equal(row.state, "pushed");
    assert.equal(row.mapping_version, 1);
    assert.equal(JSON.parse(String(row.payload)).fee, "1.0005");
  }));

Deno.test("failed and superseded activities are not overwritten by a newer mapping version either", () =>
  withJournal((db) => {
    const statement = newStatement(db);
    for (const state of ["failed", "superseded"]) {
      const key = `ibkr:U1:${state}`;
      new ActivityWriter(db, statement, 1, "t1").activity(buy({ key }));
      db.prepare("UPDATE activities SET state = ? WHERE key = ?").run(state, key);
      assert.equal(new ActivityWriter(db, statement, 2, "t2").activity(buy({ key })), false);
      assert.equal(activityRow(db, key)!.state, state);
    }
  }));

Deno.test("an older mapping version's pending or skipped row is replaced by a newer version's outcome", () =>
  withJournal((db) => {
    const first = newStatement(db, "1".repeat(64));
    const second = newStatement(db, "2".repeat(64));
    const v1 = new ActivityWriter(db, first, 1, "t1");
    v1.activity(buy({ key: "ibkr:U1:pending" }));
    v1.skipped(skipped({ key: "ibkr:U1:skipped" }));

    const v2 = new ActivityWriter(db, second, 2, "t2");
    assert.equal(v2.activity(buy({ key: "ibkr:U1:pending", fee: new Decimal("2") })), true);
    assert.equal(v2.activity(buy({ key: "ibkr:U1:skipped" })), true);

    const pending = activityRow(db, "ibkr:U1:pending")!;
    assert.equal(pending.mapping_version, 2);
    assert.equal(JSON.parse(String(pending.payload)).fee, "2");
    assert.equal(pending.updated_at, "t2");
    // The first statement a row was seen in stays its home.
    assert.equal(pending.statement_id, first);

    const nowBooked = activityRow(db, "ibkr:U1:skipped")!;
    assert.equal(nowBooked.state, "pending");
    assert.equal(nowBooked.reason, null);
    assert.equal(nowBooked.activity_type, "BUY");
    assert.equal(nowBooked.mapping_version, 2);
  }));

Deno.test("an older mapping version never replaces a newer version's row", () =>
  withJournal((db) => {
    const statement = newStatement(db);
    new ActivityWriter(db, statement, 2, "t2").activity(buy());
    assert.equal(
      new ActivityWriter(db, statement, 1, "t1").activity(buy({ fee: new Decimal("9") })),
      false,
    );
    assert.equal(activityRow(db, "ibkr:U1:31000001")!.mapping_version, 2);
  }));

Deno.test("an activity must belong to a stored statement", () =>
  withJournal((db) => {
    const writer = new ActivityWriter(db, 999, MAPPING_VERSION, "t");
    assert.throws(() => writer.activity(buy()), /FOREIGN KEY/);
  }));

// ---- transactions ------------------------------------------------------------------------------

Deno.test("transaction() commits its work and returns its result", () =>
  withJournal((db) => {
    const id = transaction(db, () => newStatement(db));
    assert.equal(typeof id, "number");
    assert.equal(count(db, "statements"), 1);
    assert.equal(db.isTransaction, false);
  }));

Deno.test("transaction() rolls everything back when its work throws, leaving no rows, and rethrows", () =>
  withJournal((db) => {
    const failure = new Error("crash mid-run");
    assert.throws(
      () =>
        transaction(db, () => {
          const statement = newStatement(db);
          const chunks = new StatementChunkWriter(db, statement);
          chunks.write(randomBytes(100));
          chunks.close();
          new ActivityWriter(db, statement, 1, "t").activity(buy());
          throw failure;
        }),
      (e: unknown) => e === failure,
    );
    assert.equal(db.isTransaction, false);
    for (const table of TABLES) assert.equal(count(db, table), 0, table);
  }));

// ---- the run lock ------------------------------------------------------------------------------

Deno.test("acquireRunLock: a second acquire in the same process throws JournalLockedError until the first is released", () =>
  withDataDir((dir) => {
    const lock = acquireRunLock(dir);
    try {
      // flock locks belong to the open file description, so a second open() conflicts even
      // within one process on Linux.
      assert.throws(() => acquireRunLock(dir), (e: unknown) => {
        assert.ok(e instanceof JournalLockedError, `expected JournalLockedError, got ${e}`);
        assert.equal(e.path, `${dir}/${LOCK_FILE}`);
        assert.match(e.message, /another broker-sync run holds the journal lock/);
        return true;
      });
    } finally {
      lock.release();
    }
    const again = acquireRunLock(dir);
    again.release();
    again.release(); // idempotent
  }));

Deno.test("acquireRunLock creates the lock file 0600, creating the data dir if needed", () =>
  withDataDir((dir) => {
    const dataDir = `${dir}/new/data`;
    const lock = acquireRunLock(dataDir);
    try {
      assert.equal(Deno.statSync(`${dataDir}/${LOCK_FILE}`).mode! & 0o777, 0o600);
      assert.equal(Deno.statSync(dataDir).mode! & 0o777, 0o700);
    } finally {
      lock.release();
    }
  }));

/** Runs a Deno subprocess that tries the lock; returns what it printed. */
async function lockInSubprocess(dir: string, release: boolean): Promise<string> {
  const lockModule = new URL("../../src/journal/lock.ts", import.meta.url).href;
  const code = `
    import { acquireRunLock } from ${JSON.stringify(lockModule)};
    try {
      const lock = acquireRunLock(${JSON.stringify(dir)});
      console.log("acquired");
      if (${release}) lock.release();
    } catch (e) {
      console.log(e.name);
    }`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("acquireRunLock: another process cannot take a held lock, and can once it is released", () =>
  withDataDir(async (dir) => {
    const lock = acquireRunLock(dir);
    try {
      assert.equal(await lockInSubprocess(dir, true), "JournalLockedError");
    } finally {
      lock.release();
    }
    assert.equal(await lockInSubprocess(dir, true), "acquired");
  }));

Deno.test("acquireRunLock: a process that exits holding the lock leaves no stale lock behind", () =>
  withDataDir(async (dir) => {
    assert.equal(await lockInSubprocess(dir, false), "acquired");
    const lock = acquireRunLock(dir);
    lock.release();
  }));
