/** `status`: a read-only summary of the journal. */
import type { DatabaseSync } from "node:sqlite";
import { activityCounts } from "../journal/activities.ts";
import { journalExists, journalPath, openJournal } from "../journal/db.ts";
import { fetchWindowCounts } from "../journal/fetch_windows.ts";
import { type LastReconciliation, lastReconciliation } from "../journal/reconciliations.ts";
import { lastSuccessfulRun, latestRuns, type RunRecord } from "../journal/runs.ts";

export interface StatusReport {
  readonly journal: string;
  readonly exists: boolean;
  readonly statements: {
    readonly documents: number;
    readonly bytes: number;
    /** Fetched statements refused after they were stored (kept as received, mapped to nothing). */
    readonly refused: number;
    readonly accounts: readonly {
      accountId: string;
      periods: number;
      fromDate: string | null;
      toDate: string | null;
    }[];
  };
  readonly activities: readonly { state: string; type: string; count: number }[];
  /** Skipped rows by reason: `needs-review` ones are what an operator must look at. */
  readonly skipped: readonly { reason: string; count: number }[];
  readonly runs: readonly RunRecord[];
  /** Flex Web Service windows by query and state (`downloaded`, `mapped`, `refused`, `failed`). */
  readonly fetchWindows: readonly {
    queryId: string;
    state: string;
    count: number;
    lastToDate: string;
  }[];
  /** Undo work IBKR asked for: deletes the push step still owes Wealthfolio, and reversals whose original is not in the journal. */
  readonly corrections: {
    readonly pending: readonly {
      targetKey: string;
      action: string;
      reason: string;
      cancelKey: string;
    }[];
    readonly awaitingOriginal: readonly { key: string; reason: string; target: string }[];
  };
  /** The latest reconciliation with its drifted lines, or null when none was ever recorded. */
  readonly lastReconciliation: LastReconciliation | null;
  /** The latest `sync` whose every step succeeded, or null. */
  readonly lastSuccessfulSync: { readonly runId: number; readonly finishedAt: string } | null;
}

/** Builds the status report; a missing journal is reported, not created. */
export function readStatus(dataDir: string): StatusReport {
  const path = journalPath(dataDir);
  if (!journalExists(path)) {
    return {
      journal: path,
      exists: false,
      statements: { documents: 0, bytes: 0, refused: 0, accounts: [] },
      activities: [],
      skipped: [],
      runs: [],
      fetchWindows: [],
      corrections: { pending: [], awaitingOriginal: [] },
      lastReconciliation: null,
      lastSuccessfulSync: null,
    };
  }
  const db = openJournal(path, { create: false });
  try {
    const sync = lastSuccessfulRun(db, "sync");
    return {
      journal: path,
      exists: true,
      statements: statementSummary(db),
      activities: activityCounts(db).filter((c) => c.state !== "skipped"),
      skipped: (db.prepare(
        "SELECT reason, COUNT(*) AS n FROM activities WHERE state = 'skipped' GROUP BY reason ORDER BY n DESC, reason",
      ).all() as Record<string, unknown>[]).map((r) => ({
        reason: String(r.reason),
        count: Number(r.n),
      })),
      runs: latestRuns(db, 5),
      fetchWindows: fetchWindowCounts(db),
      corrections: {
        pending: (db.prepare(
          "SELECT target_key, action, reason, cancel_key FROM corrections WHERE state = 'pending' ORDER BY id",
        ).all() as Record<string, string>[]).map((r) => ({
          targetKey: r.target_key,
          action: r.action,
          reason: r.reason,
          cancelKey: r.cancel_key,
        })),
        // Refunds (net mode) without a tax to net against are booked as refunds: not waiting.
        awaitingOriginal: (db.prepare(
          `SELECT key, reason, COALESCE(target_key, target_match) AS target FROM cancellations
           WHERE state = 'open' AND mode = 'reverse' ORDER BY key`,
        ).all() as Record<string, string>[]).map((r) => ({
          key: r.key,
          reason: r.reason,
          target: r.target,
        })),
      },
      lastReconciliation: lastReconciliation(db),
      lastSuccessfulSync: sync ? { runId: sync.id, finishedAt: sync.finishedAt! } : null,
    };
  } finally {
    db.close();
  }
}

function statementSummary(db: DatabaseSync): StatusReport["statements"] {
  const totals = db.prepare(
    `SELECT COUNT(*) AS n, COALESCE(SUM(byte_size), 0) AS bytes,
       COUNT(refused) AS refused FROM statements`,
  ).get() as Record<string, unknown>;
  const accounts = (db.prepare(
    `SELECT account_id, COUNT(*) AS n, MIN(from_date) AS first, MAX(to_date) AS last
     FROM statement_periods GROUP BY account_id ORDER BY account_id`,
  ).all() as Record<string, unknown>[]).map((r) => ({
    accountId: String(r.account_id),
    periods: Number(r.n),
    fromDate: r.first === null ? null : String(r.first),
    toDate: r.last === null ? null : String(r.last),
  }));
  return {
    documents: Number(totals.n),
    bytes: Number(totals.bytes),
    refused: Number(totals.refused),
    accounts,
  };
}
