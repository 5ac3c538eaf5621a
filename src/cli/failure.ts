/** Turns any error into the one line an operator reads and the exit code a CronJob sees. */
import { InputError, NothingToReconcileError } from "../app/errors.ts";
import {
  AccountGuardError,
  FlexDocumentError,
  FlexErrorResponse,
  FlexRowError,
} from "../flex/errors.ts";
import { JournalError, JournalLockedError } from "../journal/errors.ts";
import { HoldingsUnsettledError } from "../reconcile/settle.ts";
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
  if (error instanceof ConfigError) return { code: EXIT.USAGE, message, expected: true };
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

function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, " ").trim();
}
