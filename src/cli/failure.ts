/** Turns any error into the one line an operator reads and the exit code a CronJob sees. */
import { InputError, UsageError } from "../app/errors.ts";
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
import { ConfigError } from "./config.ts";
import { EXIT, type ExitCode } from "./exit_codes.ts";

export interface Failure {
  readonly code: ExitCode;
  /** One line, naming what and where. */
  readonly message: string;
  /** Whether this was anticipated (false means a bug worth a stack trace in --verbose). */
  readonly expected: boolean;
}

/** Classifies an error. */
export function classify(error: unknown): Failure {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof ConfigError || error instanceof UsageError) {
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
  if (error instanceof AccountGuardError) return { code: EXIT.ACCOUNT, message, expected: true };
  if (
    error instanceof FlexDocumentError || error instanceof FlexErrorResponse ||
    error instanceof FlexRowError || error instanceof InputError
  ) {
    return { code: EXIT.INPUT, message, expected: true };
  }
  if (error instanceof JournalLockedError) return { code: EXIT.LOCKED, message, expected: true };
  if (error instanceof JournalError) return { code: EXIT.JOURNAL, message, expected: true };
  return { code: EXIT.INTERNAL, message: `internal error: ${message}`, expected: false };
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

function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, " ").trim();
}
