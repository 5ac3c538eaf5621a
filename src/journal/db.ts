/**
 * Opening the journal: one SQLite file in WAL mode, migrated to the schema this binary knows.
 */
import { DatabaseSync } from "node:sqlite";
import { JournalError, unusable } from "./errors.ts";
import { MIGRATIONS } from "./migrations.ts";

export const JOURNAL_FILE = "broker-sync.sqlite";

/** The journal's path inside a data dir. */
export function journalPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}/${JOURNAL_FILE}`;
}

/** Whether a journal exists at `path`. */
export function journalExists(path: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new JournalError(path, `cannot use the journal: ${unusable(e)}`);
  }
  if (!info.isFile) throw new JournalError(path, "is not a file, so it cannot be the journal");
  return true;
}

/**
 * Opens (creating when asked) and migrates the journal. Statements are financial records, so the
 * file is created 0600 before SQLite touches it.
 */
export function openJournal(
  path: string,
  options: { create: boolean; readOnly?: boolean },
): DatabaseSync {
  const created = !journalExists(path);
  if (created) {
    if (!options.create) {
      throw new JournalError(path, "no journal here yet (run backfill or fetch first)");
    }
    const dir = path.slice(0, path.lastIndexOf("/")) || ".";
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.writeFileSync(path, new Uint8Array(), { mode: 0o600, createNew: true });
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
    db.exec("PRAGMA busy_timeout = 5000");
    // Large pages suit a journal that is mostly raw statement chunks: half the write time of
    // the default 4 KiB (docs/benchmarks.md). Only possible before the file has any content.
    if (created) db.exec("PRAGMA page_size = 65536");
    if (!options.readOnly) {
      db.exec("PRAGMA journal_mode = WAL");
      // WAL with NORMAL is durable across application crashes; only an OS crash can lose the
      // last commit, and the next run converges from the statements.
      db.exec("PRAGMA synchronous = NORMAL");
    }
    db.exec("PRAGMA foreign_keys = ON");
  } catch (e) {
    throw new JournalError(path, `cannot open the journal: ${(e as Error).message}`);
  }
  migrate(db, path, options.readOnly ?? false);
  return db;
}

function migrate(db: DatabaseSync, path: string, readOnly: boolean): void {
  let version: number;
  try {
    version = Number(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
  } catch (e) {
    db.close();
    throw new JournalError(path, `is not a broker-sync journal: ${(e as Error).message}`);
  }
  if (version > MIGRATIONS.length) {
    db.close();
    throw new JournalError(
      path,
      `was written by a newer broker-sync (schema ${version}, this binary knows ${MIGRATIONS.length}); upgrade broker-sync`,
    );
  }
  if (version === MIGRATIONS.length) return;
  if (readOnly) {
    db.close();
    throw new JournalError(
      path,
      `needs migrating (schema ${version}); run a writing command first`,
    );
  }
  transaction(db, () => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
  });
}

/** Runs `work` in one IMMEDIATE transaction: every state change is all or nothing. */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/**
 * `transaction` for a journal this run has just created, which nobody else reads yet: run in
 * rollback-journal mode instead of WAL, so a large first import is written to the file once
 * instead of twice (into the WAL, then copied over by the checkpoint). Pages past the end of the
 * empty journal need no undo copy, so the rollback journal stays tiny, and a crash still rolls
 * back on the next open. WAL is back on after the commit; after a failure the journal stays in
 * rollback mode until it is next opened (openJournal always asks for WAL).
 */
export function firstTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("PRAGMA journal_mode = DELETE");
  // Rollback mode needs FULL for the durability WAL gives with NORMAL.
  db.exec("PRAGMA synchronous = FULL");
  const result = transaction(db, work);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  return result;
}
