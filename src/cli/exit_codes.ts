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
  // 20–29: Wealthfolio. What was pushed before the stop is recorded; the rest stays pending.
  /** Wealthfolio unreachable, timing out, 5xx or rate-limiting after every retry: the run stopped. */
  WF_UNAVAILABLE: 20,
  /** Wealthfolio refused the credentials (WF_PASSWORD), or a fresh session: nothing was pushed. */
  WF_AUTH: 21,
  /** A target Wealthfolio account is missing, archived or does not track transactions: nothing was written. */
  WF_ACCOUNT: 22,
  /** The run finished, but Wealthfolio refused some activities: they are now `failed`. */
  WF_ROWS_REFUSED: 23,
  /** Wealthfolio answered outside its contract (unexpected status or body): the run stopped. */
  WF_PROTOCOL: 24,
  /** `reconcile --fail-on-drift`: IBKR and Wealthfolio disagree on a position or a cash balance (recorded in the journal). */
  DRIFT: 30,
  /** Wealthfolio's holdings were still changing at the settle deadline (still recalculating): nothing was reconciled. */
  HOLDINGS_UNSETTLED: 31,
  /** No journaled statement to reconcile an account against, or its latest lacks OpenPositions or CashReport: nothing was reconciled. */
  NOTHING_TO_RECONCILE: 32,
  /** The metrics could not be pushed to PUSHGATEWAY_URL; everything else the run did stands. */
  METRICS_PUSH: 33,
} as const;

export type ExitCode = typeof EXIT[keyof typeof EXIT];
