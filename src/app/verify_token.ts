/**
 * `verify-token`: one SendRequest, classified; nothing is fetched. A new token can be checked
 * before it replaces the old one. With the token's expiry date it says how many days are left.
 * The check is recorded as a run when a journal exists and no other run holds it (never the
 * token: only the verdict).
 */
import type { IsoDate } from "../flex/dates.ts";
import type { TokenCheck, TokenVerdict } from "../flex/service_client.ts";
import { addDays, daysBetween, type FlexWindow } from "../flex/windows.ts";
import { journalExists, journalPath, openJournal, transaction } from "../journal/db.ts";
import { JournalLockedError } from "../journal/errors.ts";
import { acquireRunLock } from "../journal/lock.ts";
import { finishRun, startRun } from "../journal/runs.ts";

/** Days before expiry from which verify-token warns, by default. */
export const DEFAULT_WARN_DAYS = 30;

export interface TokenReport {
  /** The token's last 4 characters, as `…1234` (null for a token too short to show any). */
  readonly token: string | null;
  readonly verdict: TokenVerdict;
  readonly code: string | null;
  readonly ibkrMessage: string | null;
  readonly detail: string | null;
  readonly expiresOn: IsoDate | null;
  readonly daysLeft: number | null;
  readonly warnDays: number;
  /** Valid, but fewer than `warnDays` days left. */
  readonly expiringSoon: boolean;
}

export interface VerifyTokenRequest {
  readonly token: string;
  readonly checker: { checkToken(window: FlexWindow): Promise<TokenCheck> };
  readonly expiresOn: IsoDate | null;
  readonly warnDays: number;
  /** Today in New York. */
  readonly today: IsoDate;
}

/**
 * Shows at most the last 4 characters, and none of a token shorter than 8 (where 4 would be half).
 *
 * @example
 * tokenEnding("918273645546372819283746"); // "…3746"
 */
export function tokenEnding(token: string): string | null {
  return token.length >= 8 ? `…${token.slice(-4)}` : null;
}

/** Asks IBKR once about the token. */
export async function verifyToken(request: VerifyTokenRequest): Promise<TokenReport> {
  // One day, explicit: the cheapest statement to ask for, and never the v3 default.
  const yesterday = addDays(request.today, -1);
  const check = await request.checker.checkToken({ from: yesterday, to: yesterday });
  const daysLeft = request.expiresOn === null
    ? null
    : daysBetween(request.today, request.expiresOn);
  return {
    token: tokenEnding(request.token),
    verdict: check.verdict,
    code: check.code,
    ibkrMessage: check.ibkrMessage,
    detail: check.detail,
    expiresOn: request.expiresOn,
    daysLeft,
    warnDays: request.warnDays,
    expiringSoon: check.verdict === "valid" && daysLeft !== null && daysLeft < request.warnDays,
  };
}

/**
 * Records the check as a `verify-token` run in an existing journal. Returns false, touching
 * nothing, when there is no journal or another run holds it: the check itself is what matters.
 */
export function recordTokenCheck(
  dataDir: string,
  report: TokenReport,
  exitCode: number,
  now: () => Date,
): boolean {
  const path = journalPath(dataDir);
  if (!journalExists(path)) return false;
  let lock;
  try {
    lock = acquireRunLock(dataDir);
  } catch (e) {
    if (e instanceof JournalLockedError) return false;
    throw e;
  }
  try {
    const db = openJournal(path, { create: false });
    try {
      transaction(db, () => {
        const runId = startRun(db, "verify-token", now().toISOString());
        finishRun(db, runId, {
          finishedAt: now().toISOString(),
          outcome: report.verdict === "valid" ? "ok" : "failed",
          exitCode,
          counts: {
            verdict: report.verdict,
            code: report.code,
            expiresOn: report.expiresOn,
            daysLeft: report.daysLeft,
          },
        });
      });
    } finally {
      db.close();
    }
    return true;
  } finally {
    lock.release();
  }
}
