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
  // 10–19: the IBKR Flex Web Service. The four token codes (10–13) are all "replace or fix the
  // token"; verify-token needs them apart, and a code means the same in every command.
  /** IBKR 1012: the token has expired. */
  FLEX_TOKEN_EXPIRED: 10,
  /** IBKR 1015: the token is not valid (typo, or a newer token replaced it). */
  FLEX_TOKEN_INVALID: 11,
  /** IBKR 1013: the token is bound to another IP address. */
  FLEX_IP_RESTRICTED: 12,
  /** IBKR 1011: the Flex Web Service is not enabled for this user. */
  FLEX_SERVICE_INACTIVE: 13,
  /** IBKR 1014 or 1010: the query id is wrong, or a legacy query. */
  FLEX_QUERY_INVALID: 14,
  /** IBKR 1016: the query's account is not valid. */
  FLEX_ACCOUNT_INVALID: 15,
  /** No usable answer: network, timeouts, HTTP errors, HTML pages, cut-off answers, retries exhausted. */
  FLEX_UNREACHABLE: 16,
  /** A fetched statement does not cover the requested window (kept, flagged refused). */
  FLEX_SHORT_STATEMENT: 17,
  /** IBKR refused with a code waiting cannot fix (1003, 1020, 1017 twice, unknown codes). */
  FLEX_REFUSED: 18,
  /** verify-token: the token is valid but expires within --warn-days. */
  FLEX_TOKEN_EXPIRING: 19,
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

/**
 * Every non-zero code, worst first: how `sync` picks its one exit code from its steps'. A bug and
 * an unusable journal first; then what a person must fix before anything works again (the
 * configuration, the Flex token and query, Wealthfolio's credentials and accounts); then data
 * refused (a statement, an answer outside the contract, rows); then nothing to reconcile against;
 * then a service unavailable, which may clear by itself; then what the run found (drift); last,
 * warnings and metrics that could not be pushed. docs/cli.md lists the same order.
 */
export const SEVERITY: readonly ExitCode[] = [
  EXIT.INTERNAL,
  EXIT.JOURNAL,
  EXIT.USAGE,
  EXIT.LOCKED,
  EXIT.FLEX_TOKEN_EXPIRED,
  EXIT.FLEX_TOKEN_INVALID,
  EXIT.FLEX_IP_RESTRICTED,
  EXIT.FLEX_SERVICE_INACTIVE,
  EXIT.FLEX_QUERY_INVALID,
  EXIT.FLEX_ACCOUNT_INVALID,
  EXIT.WF_AUTH,
  EXIT.WF_ACCOUNT,
  EXIT.ACCOUNT,
  EXIT.INPUT,
  EXIT.FLEX_SHORT_STATEMENT,
  EXIT.FLEX_REFUSED,
  EXIT.WF_PROTOCOL,
  EXIT.WF_ROWS_REFUSED,
  EXIT.NOTHING_TO_RECONCILE,
  EXIT.FLEX_UNREACHABLE,
  EXIT.WF_UNAVAILABLE,
  EXIT.HOLDINGS_UNSETTLED,
  EXIT.DRIFT,
  EXIT.BOOKS_DISAGREE,
  EXIT.FLEX_TOKEN_EXPIRING,
  EXIT.METRICS_PUSH,
];

/**
 * The worst of several exit codes by SEVERITY; 0 when all are 0. A code SEVERITY does not know
 * ranks right after INTERNAL: never quietly below a known failure.
 *
 * @example worstExitCode([0, EXIT.DRIFT, EXIT.FLEX_TOKEN_EXPIRED]) // → 10
 */
export function worstExitCode(codes: readonly number[]): number {
  const rank = (code: number) => {
    if (code === EXIT.OK) return Infinity;
    const i = SEVERITY.indexOf(code as ExitCode);
    return i === -1 ? 0.5 : i;
  };
  return codes.reduce((worst, code) => (rank(code) < rank(worst) ? code : worst), EXIT.OK);
}
