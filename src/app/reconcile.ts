/**
 * `reconcile`: for each account, the latest journaled statement's positions and ending cash
 * against Wealthfolio's holdings once they have settled; every line and its drift recorded in
 * the journal in one transaction, under the run lock (so no push changes Wealthfolio meanwhile).
 *
 * Nothing is recorded when anything fails: a statement missing, Wealthfolio unreachable or
 * still recalculating at the deadline. The error line is the record.
 */
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "../journal/db.ts";
import { inLockedJournal, type RunLock } from "../journal/lock.ts";
import { type ReconciliationLine, recordReconciliation } from "../journal/reconciliations.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import {
  type CashLine,
  compareCash,
  comparePositions,
  DEFAULT_TOLERANCE,
  type PositionLine,
  type Tolerance,
  uncomparedHoldings,
} from "../reconcile/compare.ts";
import { readSettledHoldings, type SettleOptions } from "../reconcile/settle.ts";
import type { HoldingsSource } from "../wealthfolio/holdings.ts";
import {
  type AccountMapping,
  type AccountPair,
  accountPairs,
  journalAccounts,
} from "./account_pairs.ts";
import {
  type BrokerBooks,
  latestStatement,
  readBrokerBooks,
  type StatementRef,
} from "./broker_books.ts";
import { NothingToReconcileError } from "./errors.ts";

export type { AccountPair } from "./account_pairs.ts";

export interface ReconcileRequest {
  readonly dataDir: string;
  /** The pairs, or the mapping to pair the journal's accounts by (`IBKR_ACCOUNTS`, `IBKR_ACCOUNT_ID`). */
  readonly accounts: readonly AccountPair[] | AccountMapping;
  readonly holdings: HoldingsSource;
  readonly settle: SettleOptions;
  readonly tolerance?: Tolerance;
  readonly now: () => Date;
  /** The exit code recorded with the run, given whether anything drifted (cli decides). */
  readonly exitCodeFor?: (drift: boolean) => number;
  /** The run lock when the caller holds it (`sync`); taken and released here otherwise. */
  readonly lock?: RunLock;
}

/** One account's comparison. */
export interface AccountReconciliation {
  readonly accountId: string;
  readonly wealthfolioAccountId: string;
  readonly statement: StatementRef;
  /** Reads of Wealthfolio's holdings it took for two to agree. */
  readonly holdingsReads: number;
  /** Activities not (yet) in Wealthfolio: pending or failed. Drift is expected while any are. */
  readonly unpushedActivities: number;
  readonly positions: readonly PositionLine[];
  readonly cash: readonly CashLine[];
  /** Holdings of kinds not compared (e.g. `alternativeAsset`), counted. */
  readonly uncompared: Readonly<Record<string, number>>;
  readonly drift: boolean;
}

export interface ReconcileReport {
  readonly runId: number;
  readonly journal: string;
  readonly reconciledAt: string;
  readonly accounts: readonly AccountReconciliation[];
  readonly drift: boolean;
}

/** Runs a reconciliation as its own command: lock, compare, record. */
export async function reconcile(request: ReconcileRequest): Promise<ReconcileReport> {
  return await inLockedJournal(request.dataDir, request.lock, false, async (db, path) => {
    const startedAt = request.now().toISOString();
    const accounts = await compareAccounts(db, request);
    const reconciledAt = request.now().toISOString();
    const drift = accounts.some((a) => a.drift);
    const runId = transaction(db, () => {
      const runId = startRun(db, "reconcile", startedAt);
      recordAccounts(db, runId, reconciledAt, accounts);
      finishRun(db, runId, {
        finishedAt: reconciledAt,
        outcome: "ok",
        exitCode: request.exitCodeFor?.(drift) ?? 0,
        counts: runCounts(accounts),
      });
      return runId;
    });
    return { runId, journal: path, reconciledAt, accounts, drift };
  });
}

/**
 * Compares every account; reads nothing from Wealthfolio until every account's statement has
 * been found and read, so a missing statement fails before any network call.
 */
async function compareAccounts(
  db: DatabaseSync,
  request: Pick<ReconcileRequest, "accounts" | "holdings" | "settle" | "tolerance">,
): Promise<AccountReconciliation[]> {
  const pairs: readonly AccountPair[] = "accountMap" in request.accounts
    ? accountPairs(request.accounts, journalAccounts(db))
    : request.accounts;
  if (pairs.length === 0) {
    throw new NothingToReconcileError(
      "no account to reconcile: the journal has no statement and IBKR_ACCOUNTS names no " +
        "account; fetch or backfill first. Nothing was reconciled",
    );
  }
  const books: BrokerBooks[] = pairs.map((pair) => {
    const ref = latestStatement(db, pair.ibkr);
    if (!ref) {
      throw new NothingToReconcileError(
        `no journaled statement of account ${pair.ibkr} to reconcile against; fetch or backfill ` +
          `one first. Nothing was reconciled`,
      );
    }
    return readBrokerBooks(db, ref);
  });
  const tolerance = request.tolerance ?? DEFAULT_TOLERANCE;
  const results: AccountReconciliation[] = [];
  for (const [i, pair] of pairs.entries()) {
    const settled = await readSettledHoldings(request.holdings, pair.wealthfolio, request.settle);
    const positions = comparePositions(books[i].positions, settled.holdings, tolerance.quantity);
    const cash = compareCash(books[i].cash, settled.holdings, tolerance.cash);
    results.push({
      accountId: pair.ibkr,
      wealthfolioAccountId: pair.wealthfolio,
      statement: books[i].statement,
      holdingsReads: settled.reads,
      unpushedActivities: unpushed(db, pair.ibkr),
      positions,
      cash,
      uncompared: uncomparedHoldings(settled.holdings),
      drift: positions.some((p) => p.outcome !== "ok") || cash.some((c) => c.outcome !== "ok"),
    });
  }
  return results;
}

/** Records compared accounts under a run, inside the caller's transaction. */
function recordAccounts(
  db: DatabaseSync,
  runId: number,
  reconciledAt: string,
  accounts: readonly AccountReconciliation[],
): void {
  for (const a of accounts) {
    recordReconciliation(db, runId, reconciledAt, {
      accountId: a.accountId,
      wealthfolioAccountId: a.wealthfolioAccountId,
      statementId: a.statement.statementId,
      statementToDate: a.statement.toDate,
      holdingsReads: a.holdingsReads,
      lines: [...a.positions.map(positionRecord), ...a.cash.map(cashRecord)],
    });
  }
}

function positionRecord(p: PositionLine): ReconciliationLine {
  return {
    kind: "position",
    item: p.item,
    symbol: p.symbol,
    brokerValue: p.ibkr?.toFixed() ?? null,
    wfValue: p.wealthfolio?.toFixed() ?? null,
    drift: p.drift.toFixed(),
    outcome: p.outcome,
    detail: {
      exchangeMic: p.exchangeMic,
      conid: p.conid,
      isin: p.isin,
      matchedBy: p.matchedBy,
      wealthfolioInstrumentIds: p.wealthfolioInstrumentIds,
      note: p.note,
    },
  };
}

function cashRecord(c: CashLine): ReconciliationLine {
  return {
    kind: "cash",
    item: c.currency,
    symbol: c.currency,
    brokerValue: c.ibkr?.toFixed() ?? null,
    wfValue: c.wealthfolio?.toFixed() ?? null,
    drift: c.drift.toFixed(),
    outcome: c.outcome,
    detail: null,
  };
}

function unpushed(db: DatabaseSync, accountId: string): number {
  const row = db.prepare(
    "SELECT COUNT(*) AS n FROM activities WHERE account_id = ? AND state IN ('pending', 'failed')",
  ).get(accountId) as { n: number };
  return Number(row.n);
}

function runCounts(accounts: readonly AccountReconciliation[]): Record<string, unknown> {
  return {
    accounts: accounts.length,
    positions: accounts.reduce((n, a) => n + a.positions.length, 0),
    positionDrifts: accounts.reduce(
      (n, a) => n + a.positions.filter((p) => p.outcome !== "ok").length,
      0,
    ),
    currencies: accounts.reduce((n, a) => n + a.cash.length, 0),
    cashDrifts: accounts.reduce((n, a) => n + a.cash.filter((c) => c.outcome !== "ok").length, 0),
  };
}
