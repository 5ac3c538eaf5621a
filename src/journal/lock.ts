/**
 * The run lock: one writer per journal. An OS file lock (flock) on `<data-dir>/broker-sync.lock`,
 * taken without waiting, so a second run exits at once; the OS drops it when the holder exits,
 * however it exits, so a crash never leaves a stale lock behind.
 *
 * A command that runs several use cases in a row (`sync`) takes the lock once and hands it to
 * each; a use case handed a lock runs under it and leaves releasing it to its holder, so no other
 * run can slip in between two steps.
 */
import type { DatabaseSync } from "node:sqlite";
import { journalPath, openJournal } from "./db.ts";
import { JournalError, JournalLockedError, unusable } from "./errors.ts";

export const LOCK_FILE = "broker-sync.lock";

/** A held lock; `release` is idempotent. */
export interface RunLock {
  /** The lock file: which data dir it guards. */
  readonly path: string;
  release(): void;
}

/** Takes the lock or throws JournalLockedError. */
export function acquireRunLock(dataDir: string): RunLock {
  const path = lockPath(dataDir);
  let file: Deno.FsFile;
  try {
    Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    throw new JournalError(dataDir, `cannot use this data dir: ${unusable(e)}`);
  }
  let held = false;
  try {
    held = file.tryLockSync(true);
  } finally {
    if (!held) file.close();
  }
  if (!held) throw new JournalLockedError(path);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      file.unlockSync();
      file.close();
    },
  };
}

/**
 * The lock a use case runs under: `held`, when its caller holds the data dir's lock (releasing
 * what is returned then leaves it held), else the lock taken now.
 */
export function stepLock(dataDir: string, held: RunLock | undefined): RunLock {
  if (held === undefined) return acquireRunLock(dataDir);
  if (held.path !== lockPath(dataDir)) {
    throw new Error(`the run lock held is ${held.path}, not ${lockPath(dataDir)}`);
  }
  return { path: held.path, release() {} };
}

/**
 * Runs a use case's `step` under its lock (stepLock) with the journal open (created if `create`);
 * closes the journal and releases the lock however the step ends.
 */
export async function inLockedJournal<T>(
  dataDir: string,
  held: RunLock | undefined,
  create: boolean,
  step: (db: DatabaseSync, path: string) => Promise<T>,
): Promise<T> {
  const lock = stepLock(dataDir, held);
  try {
    const path = journalPath(dataDir);
    const db = openJournal(path, { create });
    try {
      return await step(db, path);
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}

function lockPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}/${LOCK_FILE}`;
}
