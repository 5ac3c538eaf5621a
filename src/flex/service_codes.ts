/**
 * The Flex Web Service's error codes as data (contract `ibkr-flex.md` §1.3): what each one means
 * for the client, and what the operator does about it. IBKR answers every outcome with HTTP 200,
 * so this table, keyed by `<ErrorCode>`, is the only thing that decides. The runbook's
 * troubleshooting table (docs/cli.md) is this table.
 */

/**
 * What a code asks of the client.
 * - `retry`: try the same call again after a backoff (the statement or server is not ready).
 * - `generating`: 1019, the normal polling state while IBKR builds the statement.
 * - `throttled`: 1018, the token's rate limit: wait at least 10 s.
 * - `restart`: 1017, the reference code is gone: start again from SendRequest, once.
 * - the rest are fatal for this run; each is a class with its own exit code.
 */
export type FlexCodeClass =
  | "retry"
  | "generating"
  | "throttled"
  | "restart"
  | "token-expired"
  | "token-invalid"
  | "ip-restricted"
  | "service-inactive"
  | "query-invalid"
  | "account-invalid"
  | "refused";

/** One row of the table. */
export interface FlexCodeRule {
  readonly class: FlexCodeClass;
  /** What the operator does about it, for messages and the runbook. */
  readonly fix: string;
}

const TOKEN_PAGE = "Client Portal → Performance & Reports → Flex Queries → Flex Web Service";

/**
 * Every code the contract lists. Codes not here (1002, 1025, anything new) are fatal and quoted
 * with IBKR's own text: unknown data is never guessed about.
 */
export const FLEX_CODES: Readonly<Record<string, FlexCodeRule>> = {
  "1001": {
    class: "retry",
    fix: "retried with backoff; when it persists, IBKR_FLEX_BASE_URL may name the legacy " +
      "endpoint, which answers 1001 to everything since May 2026 (unset it for the default)",
  },
  "1003": {
    class: "refused",
    fix: "the statement is not available for this window: check that the query's own period " +
      "does not conflict with the requested dates, and that IBKR_FLEX_BASE_URL is the current " +
      "endpoint",
  },
  "1004": { class: "retry", fix: "retried with backoff (statement incomplete)" },
  "1005": { class: "retry", fix: "retried with backoff (settlement data not ready)" },
  "1006": { class: "retry", fix: "retried with backoff (FIFO P/L not ready)" },
  "1007": { class: "retry", fix: "retried with backoff (MTM P/L not ready)" },
  "1008": { class: "retry", fix: "retried with backoff (MTM and FIFO P/L not ready)" },
  "1009": { class: "retry", fix: "retried with backoff (IBKR under heavy load)" },
  "1010": {
    class: "query-invalid",
    fix: "the query is a legacy Flex Query: recreate it as an Activity Flex Query and update " +
      "IBKR_FLEX_QUERY_ID",
  },
  "1011": {
    class: "service-inactive",
    fix: `enable the Flex Web Service (${TOKEN_PAGE}) and generate a token`,
  },
  "1012": {
    class: "token-expired",
    fix: `generate a new token (${TOKEN_PAGE}), check it with \`broker-sync verify-token ` +
      "--token-file -`, then replace IBKR_FLEX_TOKEN (and IBKR_FLEX_TOKEN_EXPIRES)",
  },
  "1013": {
    class: "ip-restricted",
    fix: "the token is bound to another IP address (did the egress IP change?): generate a " +
      "token without the IP restriction or for the current IP, then replace IBKR_FLEX_TOKEN",
  },
  "1014": {
    class: "query-invalid",
    fix: "IBKR_FLEX_QUERY_ID does not name an Activity Flex Query of this token's user: copy " +
      "the query id from Client Portal",
  },
  "1015": {
    class: "token-invalid",
    fix: "IBKR_FLEX_TOKEN is not a current token (a typo, or a newer token replaced it): copy " +
      `the current token from ${TOKEN_PAGE}`,
  },
  "1016": {
    class: "account-invalid",
    fix: "the query's account is not valid for this token's user: check the account selected " +
      "in the Flex query",
  },
  "1017": { class: "restart", fix: "restarted from SendRequest once; then fatal, run again later" },
  "1018": {
    class: "throttled",
    fix: "waited at least 10 s (the limit is 1 request/s and 10/min per token); another " +
      "process using the same token makes this more likely",
  },
  "1019": { class: "generating", fix: "polled with backoff until the statement is ready" },
  "1020": {
    class: "refused",
    fix: "IBKR could not validate the request: check IBKR_FLEX_TOKEN and IBKR_FLEX_QUERY_ID, " +
      "and that the window is at most 365 days",
  },
  "1021": { class: "retry", fix: "retried with backoff (statement could not be retrieved)" },
};

/** The rule for codes IBKR invents after this table was written. */
export const UNKNOWN_CODE_RULE: FlexCodeRule = {
  class: "refused",
  fix: "an error code broker-sync does not know: IBKR's own text is quoted; nothing was retried",
};

/**
 * The rule for a code, unknown codes included.
 *
 * @example
 * flexCodeRule("1012").class; // "token-expired"
 * flexCodeRule("1025").class; // "refused" (unknown: fatal, never retried)
 */
export function flexCodeRule(code: string | null): FlexCodeRule {
  return (code !== null ? FLEX_CODES[code] : undefined) ?? UNKNOWN_CODE_RULE;
}

/** Whether waiting and asking again can change the answer. */
export function isRetryable(rule: FlexCodeRule): boolean {
  return rule.class === "retry" || rule.class === "generating" || rule.class === "throttled";
}
