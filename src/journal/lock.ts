/**
 * The run lock: one writer per journal. An OS file lock (flock) on `<data-dir>/broker-sync.lock`,
 * taken without waiting, so a second run exits at once; the OS drops it when the holder exits,
 * however it exits, so a crash never leaves a stale lock behind.
 */
import { JournalLockedError } from "./errors.ts";

export const LOCK_FILE = "broker-sync.lock";

/** A held lock; `release` is idempotent. */
export interface RunLock {
  release(): void;
}

/** Takes the lock or throws JournalLockedError. */
export function acquireRunLock(dataDir: string): RunLock {
  Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = `${dataDir.replace(/\/+$/, "")}/${LOCK_FILE}`;
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  let held = false;
  try {
    held = file.tryLockSync(true);
  } finally {
    if (!held) file.close();
  }
  if (!held) throw new JournalLockedError(path);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      file.unlockSync();
      file.close();
    },
  };
}
