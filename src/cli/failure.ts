/** Turns any error into the one line an operator reads and the exit code a CronJob sees. */
import {
  InputError,
  NothingToReconcileError,
  RowsRefusedError,
  UnmappedAccountError,
  UsageError,
} from "../app/errors.ts";
import {
  AccountGuardError,
  FlexDocumentError,
  FlexErrorResponse,
  FlexRowError,
  ShortStatementError,
} from "../flex/errors.ts";
import {
  type FlexRefusalClass,
  FlexServiceError,
  FlexUnexpectedAnswerError,
  FlexUnreachableError,
} from "../flex/service_errors.ts";
import { JournalError, JournalLockedError } from "../journal/errors.ts";
import { HoldingsUnsettledError } from "../reconcile/settle.ts";
import {
  WealthfolioAccountError,
  WealthfolioAuthError,
  WealthfolioProtocolError,
  WealthfolioUnavailableError,
} from "../wealthfolio/errors.ts";
import { ConfigError } from "./config.ts";
import { EXIT, type ExitCode } from "./exit_codes.ts";

export interface Failure {
  readonly code: ExitCode;
  /** One line, naming what and where. */
  readonly message: string;
  /** Whether this was anticipated (false means a bug worth a stack trace in --verbose). */
  readonly expected: boolean;
}

/** An outcome already reported on stdout that still ends the command with a code. */
export class ExitError extends Error {
  constructor(message: string, readonly code: ExitCode) {
    super(message);
    this.name = "ExitError";
  }
}

/** Classifies an error. */
export function classify(error: unknown): Failure {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof ExitError) return { code: error.code, message, expected: true };
  if (
    error instanceof ConfigError || error instanceof UsageError ||
    error instanceof UnmappedAccountError
  ) {
    return { code: EXIT.USAGE, message, expected: true };
  }
  if (error instanceof FlexServiceError) {
    return { code: REFUSAL_EXIT[error.refusal], message, expected: true };
  }
  if (error instanceof FlexUnreachableError || error instanceof FlexUnexpectedAnswerError) {
    return { code: EXIT.FLEX_UNREACHABLE, message, expected: true };
  }
  if (error instanceof ShortStatementError) {
    return { code: EXIT.FLEX_SHORT_STATEMENT, message, expected: true };
  }
  const wealthfolio = wealthfolioCode(error);
  if (wealthfolio !== null) return { code: wealthfolio, message, expected: true };
  if (error instanceof AccountGuardError) return { code: EXIT.ACCOUNT, message, expected: true };
  if (
    error instanceof FlexDocumentError || error instanceof FlexErrorResponse ||
    error instanceof FlexRowError || error instanceof InputError
  ) {
    return { code: EXIT.INPUT, message, expected: true };
  }
  if (error instanceof JournalLockedError) return { code: EXIT.LOCKED, message, expected: true };
  if (error instanceof JournalError) return { code: EXIT.JOURNAL, message, expected: true };
  if (error instanceof HoldingsUnsettledError) {
    return { code: EXIT.HOLDINGS_UNSETTLED, message, expected: true };
  }
  if (error instanceof NothingToReconcileError) {
    return { code: EXIT.NOTHING_TO_RECONCILE, message, expected: true };
  }
  return { code: EXIT.INTERNAL, message: `internal error: ${message}`, expected: false };
}

function wealthfolioCode(error: unknown): ExitCode | null {
  if (error instanceof WealthfolioUnavailableError) return EXIT.WF_UNAVAILABLE;
  if (error instanceof WealthfolioAuthError) return EXIT.WF_AUTH;
  if (error instanceof WealthfolioAccountError) return EXIT.WF_ACCOUNT;
  if (error instanceof RowsRefusedError) return EXIT.WF_ROWS_REFUSED;
  if (error instanceof WealthfolioProtocolError) return EXIT.WF_PROTOCOL;
  return null;
}

/** The exit code of each class of IBKR refusal. */
export const REFUSAL_EXIT: Readonly<Record<FlexRefusalClass, ExitCode>> = {
  "token-expired": EXIT.FLEX_TOKEN_EXPIRED,
  "token-invalid": EXIT.FLEX_TOKEN_INVALID,
  "ip-restricted": EXIT.FLEX_IP_RESTRICTED,
  "service-inactive": EXIT.FLEX_SERVICE_INACTIVE,
  "query-invalid": EXIT.FLEX_QUERY_INVALID,
  "account-invalid": EXIT.FLEX_ACCOUNT_INVALID,
  "refused": EXIT.FLEX_REFUSED,
};

/** A message on one line: line breaks (and the indentation after them) become one space. */
export function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, " ").trim();
}
