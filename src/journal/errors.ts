/** Errors about the journal itself, as opposed to its contents. */

/** Another broker-sync process holds the journal. */
export class JournalLockedError extends Error {
  constructor(readonly path: string) {
    super(
      `${path}: another broker-sync run holds the journal lock; this run did nothing. ` +
        `Wait for it to finish (a stale lock clears when its process exits)`,
    );
    this.name = "JournalLockedError";
  }
}

/** The journal cannot be used: unreadable, not a journal, or from a newer broker-sync. */
export class JournalError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = "JournalError";
  }
}

/**
 * Why a path cannot be used, in an operator's words: a file system error's own message, or, for a
 * path outside what the binary may touch, that (Deno's text would suggest a flag the binary does
 * not take).
 */
export function unusable(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return error instanceof Deno.errors.NotCapable
      ? "not a path broker-sync may use"
      : "permission denied (check the owner and mode of the data dir; the CronJob runs as uid 65532)";
  }
  return error instanceof Error ? error.message : String(error);
}
