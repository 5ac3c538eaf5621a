/**
 * Exit codes, one per class of outcome an operator or a CronJob must tell apart. Documented in
 * docs/cli.md; a code's meaning never changes once released.
 */
export const EXIT = {
  /** Everything asked for was done. */
  OK: 0,
  /** A bug: an error nobody anticipated. The message and `--verbose` logs say where. */
  INTERNAL: 1,
  /** Bad flag, argument or configuration: nothing was attempted. */
  USAGE: 2,
  /** A statement was refused (malformed, truncated, empty, HTML, not UTF-8, DTD, an IBKR error response, an unparseable required value): nothing was written. */
  INPUT: 3,
  /** The account guard refused a statement (wrong or masked accountId): nothing was written. */
  ACCOUNT: 4,
  /** Another run holds the journal lock: this run did nothing. */
  LOCKED: 5,
  /** The journal cannot be used (unreadable, not a journal, written by a newer broker-sync). */
  JOURNAL: 6,
  /** `verify-books`: a statement's own CashReport or OpenPositions disagree with what we mapped. */
  BOOKS_DISAGREE: 7,
} as const;

export type ExitCode = typeof EXIT[keyof typeof EXIT];
