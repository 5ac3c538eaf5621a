/**
 * Gathers a run's metrics from what the run learnt (its reconciliation, the Flex error codes it
 * was answered, how it ended) and from the journal (activities by state, skipped rows, the last
 * fully successful sync). Reading the last success from the journal is what keeps it in the
 * Pushgateway after a failed run: PUT replaces the whole group, so a run that left it out would
 * erase it and `IBKRSyncStale` would go quiet exactly when it should fire.
 */
import type { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { journalExists, journalPath, openJournal } from "../journal/db.ts";
import { JournalError } from "../journal/errors.ts";
import { lastSuccessfulRun } from "../journal/runs.ts";
import { type AccountMetrics, METRICS_JOB, type RunMetrics } from "../metrics/run_metrics.ts";
import { journalAccounts } from "./account_pairs.ts";
import type { AccountReconciliation } from "./reconcile.ts";

export interface RunFacts {
  readonly dataDir: string;
  readonly command: string;
  /** IBKR accounts the run was about (configuration); the journal's own are added. */
  readonly accounts: readonly string[];
  /** This run's reconciliation, when it got that far. */
  readonly reconciled?: readonly AccountReconciliation[];
  readonly flexErrors?: Readonly<Record<string, number>>;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly exitCode: number;
  readonly tokenExpiry?: Date | null;
}

/**
 * Builds the run's metrics. A journal that does not exist, or cannot be used, contributes
 * nothing: the run's own facts (its exit code 6, say) still go out.
 */
export function collectRunMetrics(facts: RunFacts): RunMetrics {
  const db = usableJournal(journalPath(facts.dataDir));
  try {
    const accounts = new Set(facts.accounts);
    for (const a of facts.reconciled ?? []) accounts.add(a.accountId);
    if (db && accounts.size === 0) { for (const a of journalAccounts(db)) accounts.add(a); }
    const sync = db ? lastSuccessfulRun(db, "sync") : null;
    return {
      job: METRICS_JOB,
      command: facts.command,
      accounts: [...accounts].sort().map((account) =>
        accountMetrics(db, account, facts.reconciled?.find((r) => r.accountId === account))
      ),
      flexErrors: facts.flexErrors ?? {},
      durationSeconds: (facts.finishedAt.getTime() - facts.startedAt.getTime()) / 1000,
      exitCode: facts.exitCode,
      lastSuccess: sync?.finishedAt ? new Date(sync.finishedAt) : null,
      tokenExpiry: facts.tokenExpiry ?? null,
    };
  } finally {
    db?.close();
  }
}

function accountMetrics(
  db: DatabaseSync | null,
  account: string,
  reconciled: AccountReconciliation | undefined,
): AccountMetrics {
  // Within tolerance is no drift: 0, not a float-noise 1e-13 an alert threshold must dodge.
  const positions = new Map<string, Decimal>();
  for (const p of reconciled?.positions ?? []) {
    const drift = p.outcome === "ok" ? new Decimal(0) : p.drift;
    positions.set(p.symbol, (positions.get(p.symbol) ?? new Decimal(0)).plus(drift));
  }
  return {
    account,
    positionDrift: [...positions].map(([symbol, drift]) => ({ symbol, drift })),
    cashDrift: (reconciled?.cash ?? []).map((c) => ({
      currency: c.currency,
      drift: c.outcome === "ok" ? new Decimal(0) : c.drift,
    })),
    activities: db ? activitiesByState(db, account) : {},
    skippedRows: db ? skippedByReason(db, account) : {},
  };
}

function activitiesByState(db: DatabaseSync, account: string): Record<string, number> {
  const rows = db.prepare(
    "SELECT state, COUNT(*) AS n FROM activities WHERE account_id = ? GROUP BY state",
  ).all(account) as { state: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * Skipped rows by reason. `cancels:<key>` names one row each; as a label it would make a series
 * per cancelled trade, so it is counted as `cancels`.
 */
function skippedByReason(db: DatabaseSync, account: string): Record<string, number> {
  const rows = db.prepare(
    `SELECT reason, COUNT(*) AS n FROM activities WHERE account_id = ? AND state = 'skipped'
     GROUP BY reason`,
  ).all(account) as { reason: string | null; n: number }[];
  const counts: Record<string, number> = {};
  for (const r of rows) {
    const reason = r.reason?.startsWith("cancels:") ? "cancels" : r.reason ?? "unknown";
    counts[reason] = (counts[reason] ?? 0) + Number(r.n);
  }
  return counts;
}

function usableJournal(path: string): DatabaseSync | null {
  if (!journalExists(path)) return null;
  try {
    return openJournal(path, { create: false });
  } catch (e) {
    if (e instanceof JournalError) return null;
    throw e;
  }
}
