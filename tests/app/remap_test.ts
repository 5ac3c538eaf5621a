/**
 * Re-mapping after an upgrade, on a real journal: statements mapped by an older mapping version
 * are mapped again from the journal's own bytes; pushed rows and refused statements are left alone.
 */
import assert from "node:assert/strict";
import { backfillFiles } from "../../src/app/backfill.ts";
import { remapStale, staleStatements } from "../../src/app/remap.ts";
import { MAPPING_VERSION } from "../../src/domain/activity.ts";
import { journalPath, openJournal, transaction } from "../../src/journal/db.ts";
import { startRun } from "../../src/journal/runs.ts";
import { FIXTURE } from "../cli/run_cli.ts";

const NOW = "2026-11-21T02:00:00.000Z";

interface Row {
  key: string;
  state: string;
  payload: string | null;
  mapping_version: number;
}

async function withJournal(
  work: (db: ReturnType<typeof openJournal>) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-remap-test-" });
  try {
    backfillFiles({ dataDir: dir, paths: [FIXTURE], accounts: [], now: () => new Date(NOW) });
    const db = openJournal(journalPath(dir), { create: false });
    try {
      work(db);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Makes the journal look as an older build left it: every row and mapping one version back. */
function ageJournal(db: ReturnType<typeof openJournal>): void {
  db.exec(`UPDATE statement_mappings SET mapping_version = ${MAPPING_VERSION - 1}`);
  db.exec(`UPDATE activities SET mapping_version = ${MAPPING_VERSION - 1}`);
}

function rows(db: ReturnType<typeof openJournal>): Map<string, Row> {
  const all = db.prepare(
    "SELECT key, state, payload, mapping_version FROM activities ORDER BY key",
  ).all() as unknown as Row[];
  return new Map(all.map((r) => [r.key, { ...r }]));
}

function runId(db: ReturnType<typeof openJournal>): number {
  return startRun(db, "import", NOW);
}

Deno.test("a statement mapped only by an older version is stale; one mapped by this version is not", () =>
  withJournal((db) => {
    assert.deepEqual(staleStatements(db), []);
    ageJournal(db);
    const stale = staleStatements(db);
    assert.equal(stale.length, 1);
    assert.equal(stale[0].mappedBy, MAPPING_VERSION - 1);
    assert.equal(stale[0].origin, FIXTURE);
  }));

Deno.test("re-mapping restores what this version maps for unpushed rows and leaves pushed rows as they were", () =>
  withJournal((db) => {
    const before = rows(db);
    const [pushedKey, pendingKey] = [...before.values()]
      .filter((r) => r.state === "pending")
      .map((r) => r.key);
    ageJournal(db);
    // What an older build would have left: a wrong payload on one pending row and on one pushed row.
    db.prepare("UPDATE activities SET payload = '{\"old\":true}' WHERE key IN (?, ?)")
      .run(pushedKey, pendingKey);
    db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(pushedKey);

    const id = runId(db);
    const remapped = transaction(
      db,
      () => remapStale(db, { accounts: [], accountsSource: null, runId: id, now: NOW }),
    );

    assert.equal(remapped.length, 1);
    const after = rows(db);
    assert.equal(after.get(pendingKey)!.payload, before.get(pendingKey)!.payload);
    assert.equal(after.get(pendingKey)!.mapping_version, MAPPING_VERSION);
    assert.equal(after.get(pushedKey)!.payload, '{"old":true}');
    assert.equal(after.get(pushedKey)!.state, "pushed");
    assert.deepEqual(staleStatements(db), []);
    assert.equal(after.size, before.size);
  }));

Deno.test("a refused statement is not re-mapped", () =>
  withJournal((db) => {
    ageJournal(db);
    db.exec("UPDATE statements SET refused = 'short statement'");
    assert.deepEqual(staleStatements(db), []);
  }));

Deno.test("re-mapping under an account guard that refuses the statement changes nothing", () =>
  withJournal((db) => {
    ageJournal(db);
    const before = rows(db);
    const id = runId(db);
    assert.throws(
      () =>
        transaction(
          db,
          () =>
            remapStale(db, {
              accounts: ["U7654321"],
              accountsSource: "--account",
              runId: id,
              now: NOW,
            }),
        ),
      /U1234567/,
    );
    assert.deepEqual(rows(db), before);
    assert.equal(staleStatements(db).length, 1);
  }));
