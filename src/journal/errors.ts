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
