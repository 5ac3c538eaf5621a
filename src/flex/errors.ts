/**
 * Typed errors for everything IBKR-shaped that can be wrong with a document. Each carries the
 * fields an operator needs; the CLI turns them into one line and an exit code.
 */

/** The bytes are not a Flex statement we can read: malformed, truncated, HTML, empty, not UTF-8. */
export class FlexDocumentError extends Error {
  constructor(
    /** Where the document came from (file path or "Flex Web Service"). */
    readonly origin: string,
    readonly detail: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      `${origin}: ${detail}${
        line !== undefined
          ? ` (line ${line}${column !== undefined ? `, column ${column}` : ""})`
          : ""
      }`,
    );
    this.name = "FlexDocumentError";
  }
}

/**
 * The document is IBKR's error response (`FlexStatementResponse` with Status Fail/Warn), e.g. a
 * saved SendRequest answer. Quotes IBKR's own code and text.
 */
export class FlexErrorResponse extends Error {
  constructor(
    readonly origin: string,
    readonly status: string,
    readonly code: string | null,
    readonly ibkrMessage: string | null,
  ) {
    super(
      `${origin}: IBKR answered with an error response instead of a statement: ` +
        `Status ${status || "?"}, ErrorCode ${code ?? "?"}${
          ibkrMessage ? ` "${ibkrMessage}"` : ""
        }`,
    );
    this.name = "FlexErrorResponse";
  }
}

/** One row carries a value we refuse to guess about (an unparseable required date or amount). */
export class FlexRowError extends Error {
  constructor(
    readonly origin: string,
    readonly section: string,
    readonly transactionId: string | null,
    readonly attribute: string,
    readonly value: string | null,
    readonly problem: string,
  ) {
    super(
      `${origin}: ${section} row transactionID=${transactionId ?? "(none)"}: ${attribute}=${
        value === null ? "(missing)" : JSON.stringify(value)
      } ${problem} — nothing was written`,
    );
    this.name = "FlexRowError";
  }
}

/** The statement belongs to an account we were not told to accept, or its id is masked. */
export class AccountGuardError extends Error {
  constructor(
    readonly origin: string,
    readonly statementAccount: string,
    readonly expected: readonly string[],
    /** Where the accepted ids came from (e.g. `--account`), named in the message. */
    readonly expectedSource: string = "IBKR_ACCOUNT_ID_UPSTREAM",
  ) {
    super(
      isMaskedAccount(statementAccount)
        ? `${origin}: FlexStatement accountId ${statementAccount} is masked; untick "mask account ` +
          `numbers" in the Flex query's settings — nothing was written`
        : `${origin}: FlexStatement accountId ${statementAccount} does not match ` +
          `${expectedSource}=${expected.join(",")} — nothing was written`,
    );
    this.name = "AccountGuardError";
  }
}

/**
 * A fetched statement does not cover the window asked for: with v3 IBKR can silently answer a
 * one-day statement (contract §1.1, §1.5). Never a success: what is missing would go unseen.
 */
export class ShortStatementError extends Error {
  constructor(
    readonly origin: string,
    readonly accountId: string,
    readonly requested: { readonly from: string; readonly to: string },
    readonly covered: { readonly from: string | null; readonly to: string | null },
  ) {
    super(
      `${origin}: FlexStatement accountId ${accountId} covers ${covered.from ?? "?"}..${
        covered.to ?? "?"
      }, not the requested ${requested.from}..${requested.to} (IBKR answered a shorter ` +
        `statement) — no activities were mapped; the statement is kept, flagged refused. ` +
        `Check the Flex query's period and run again`,
    );
    this.name = "ShortStatementError";
  }
}

/** IBKR masks account ids as `U***4321` when the query asks for it; such an id identifies nothing. */
export function isMaskedAccount(accountId: string): boolean {
  return accountId.includes("*");
}
