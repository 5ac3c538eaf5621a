/**
 * Activities written many rows per statement (`queue`, `flush`) must leave the journal exactly as
 * writing them one at a time does, and report the same "changed the journal" for each: a key
 * replaced by a newer mapping, a pushed one left alone (learning its match key), one unchanged,
 * the same key twice in a document or twice in one outcome, and more rows than one statement
 * holds.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { ActivityWriter, type JournalEntry } from "../../src/journal/activities.ts";
import { journalPath, openJournal } from "../../src/journal/db.ts";
import { insertStatement } from "../../src/journal/statements.ts";

const K = (id: string) => `ibkr:U1:${id}`;

function entry(key: string, o: Partial<JournalEntry> = {}): JournalEntry {
  return {
    key,
    account: "U1",
    activityType: "BUY",
    businessDate: "2025-01-15",
    symbol: "AAPL",
    payload: JSON.stringify({ key, fee: o.reason ?? "1" }),
    state: "pending",
    reason: null,
    matchKey: null,
    ...o,
  };
}

/** A journal holding what an earlier run (mapping version 1 and 2) left. */
function journalWithHistory(db: DatabaseSync): number {
  const statement = (sha: string) =>
    insertStatement(db, {
      sha256: sha.repeat(64),
      source: "file",
      origin: `${sha}.xml`,
      byteSize: 1,
      receivedAt: "t0",
    });
  const earlier = statement("1");
  const v1 = new ActivityWriter(db, earlier, 1, "t1");
  v1.write(entry(K("1")));
  v1.write(entry(K("2")));
  db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(K("2"));
  new ActivityWriter(db, earlier, 2, "t1").write(
    entry(K("3"), { state: "skipped", activityType: null, reason: "zero-quantity" }),
  );
  return statement("2");
}

/** One document's outcomes, as the mapper would give them to mapping version 2. */
const OUTCOMES: JournalEntry[][] = [
  [entry(K("1"), { reason: null, payload: '{"v":2}' }), entry(K("1:commission"))],
  [entry(K("2"), { matchKey: "trade:9" })],
  [entry(K("3"), { state: "skipped", activityType: null, reason: "zero-quantity" })],
  [entry(K("4"))],
  [entry(K("4"), { payload: '{"second":true}' })],
  [entry(K("5")), entry(K("5"), { payload: '{"twice":true}' })],
  ...Array.from({ length: 70 }, (_, i) => [entry(K(`new${i}`), { matchKey: `trade:${i}` })]),
  [entry(K("new3"), { matchKey: "trade:other" })],
];

function run(db: DatabaseSync, how: "one by one" | "queued"): boolean[][] {
  const statement = journalWithHistory(db);
  const writer = new ActivityWriter(db, statement, 2, "t2");
  const changed: boolean[][] = [];
  for (const [i, entries] of OUTCOMES.entries()) {
    if (how === "one by one") changed[i] = entries.map((e) => writer.write(e));
    else writer.queue(entries, (c) => changed[i] = [...c]);
  }
  writer.flush();
  return changed;
}

async function journaled(how: "one by one" | "queued") {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-activity-batches-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    const changed = run(db, how);
    const rows = db.prepare("SELECT * FROM activities ORDER BY rowid").all().map((r) => ({ ...r }));
    return { changed, rows };
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("queued activities change the journal exactly as writing them one by one", async () => {
  const single = await journaled("one by one");
  const queued = await journaled("queued");
  assert.deepEqual(queued.changed, single.changed);
  assert.deepEqual(queued.rows, single.rows);

  // And what one by one means, so the comparison cannot pass vacuously.
  assert.deepEqual(single.changed.slice(0, 6), [
    [true, true], // replaced by the newer mapping; its commission is new
    [false], // pushed: left alone
    [false], // same mapping version: unchanged
    [true],
    [false], // the same key again in the document
    [true, false], // … or in the same outcome
  ]);
  assert.equal(single.changed.filter(([c]) => c).length, 3 + 70);
  const pushed = single.rows.find((r) => r.key === K("2"))!;
  assert.equal(pushed.state, "pushed");
  assert.equal(pushed.match_key, "trade:9", "a pushed row still learns its match key");
  assert.equal(single.rows.find((r) => r.key === K("new3"))!.match_key, "trade:3");
});

Deno.test("nothing queued reaches the journal before flush, and nothing is reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-activity-batches-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    const statement = journalWithHistory(db);
    const writer = new ActivityWriter(db, statement, 2, "t2");
    const reported: boolean[][] = [];
    writer.queue([entry(K("a"))], (c) => reported.push([...c]));
    const count = () =>
      (db.prepare("SELECT COUNT(*) AS n FROM activities WHERE key = ?").get(K("a")) as {
        n: number;
      }).n;
    assert.equal(count(), 0);
    assert.deepEqual(reported, []);
    writer.flush();
    assert.equal(count(), 1);
    assert.deepEqual(reported, [[true]]);
    writer.flush();
    assert.deepEqual(reported, [[true]], "a second flush reports nothing again");
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
