/**
 * The `reconciliations` and `reconciled_accounts` tables: what one run compared for an account
 * (which statement, which Wealthfolio account) and every position and currency line with its
 * drift. Decimals are stored as exact strings.
 */
import type { DatabaseSync } from "node:sqlite";

/** One compared position or currency, as stored. */
export interface ReconciliationLine {
  readonly kind: "position" | "cash";
  /** `conid:<id>` / `ibkr:<symbol>` / `wf:<instrument id>` for positions; the currency for cash. */
  readonly item: string;
  /** The symbol label of a position; the currency of a cash line. */
  readonly symbol: string;
  readonly brokerValue: string | null;
  readonly wfValue: string | null;
  readonly drift: string;
  readonly outcome: "ok" | "differs" | "missing-in-wealthfolio" | "only-in-wealthfolio";
  /** What else identifies the line (MIC, conid, ISIN, how it was matched). */
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** One account of a reconciliation run. */
export interface ReconciledAccount {
  readonly accountId: string;
  readonly wealthfolioAccountId: string;
  readonly statementId: number;
  readonly statementToDate: string | null;
  readonly holdingsReads: number;
  readonly lines: readonly ReconciliationLine[];
}

/** Records an account's reconciliation inside the caller's transaction. */
export function recordReconciliation(
  db: DatabaseSync,
  runId: number,
  reconciledAt: string,
  account: ReconciledAccount,
): void {
  const drifted = (kind: string) =>
    account.lines.filter((l) => l.kind === kind && l.outcome !== "ok").length;
  db.prepare(
    `INSERT INTO reconciled_accounts (run_id, account_id, wf_account_id, statement_id,
       statement_to_date, holdings_reads, position_lines, position_drifts, cash_lines,
       cash_drifts, reconciled_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    runId,
    account.accountId,
    account.wealthfolioAccountId,
    account.statementId,
    account.statementToDate,
    account.holdingsReads,
    account.lines.filter((l) => l.kind === "position").length,
    drifted("position"),
    account.lines.filter((l) => l.kind === "cash").length,
    drifted("cash"),
    reconciledAt,
  );
  const insert = db.prepare(
    `INSERT INTO reconciliations (run_id, account_id, kind, item, broker_value, wf_value, drift,
       outcome, symbol, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const l of account.lines) {
    insert.run(
      runId,
      account.accountId,
      l.kind,
      l.item,
      l.brokerValue,
      l.wfValue,
      l.drift,
      l.outcome,
      l.symbol,
      l.detail === null ? null : JSON.stringify(l.detail),
    );
  }
}

/** The latest reconciliation, as `status` shows it. */
export interface LastReconciliation {
  readonly runId: number;
  readonly command: string;
  readonly reconciledAt: string;
  readonly accounts: readonly {
    readonly accountId: string;
    readonly wealthfolioAccountId: string;
    readonly statementToDate: string | null;
    readonly positions: number;
    readonly positionDrifts: number;
    readonly currencies: number;
    readonly cashDrifts: number;
    /** Only the lines that drifted. */
    readonly drifts: readonly Omit<ReconciliationLine, "detail">[];
  }[];
}

/** The most recent run that reconciled at least one account, or null. */
export function lastReconciliation(db: DatabaseSync): LastReconciliation | null {
  const run = db.prepare(
    `SELECT r.id, r.command, MAX(a.reconciled_at) AS at FROM runs r
     JOIN reconciled_accounts a ON a.run_id = r.id
     GROUP BY r.id ORDER BY r.id DESC LIMIT 1`,
  ).get() as { id: number; command: string; at: string } | undefined;
  if (!run) return null;
  const accounts = db.prepare(
    `SELECT account_id, wf_account_id, statement_to_date, position_lines, position_drifts,
            cash_lines, cash_drifts
     FROM reconciled_accounts WHERE run_id = ? ORDER BY account_id`,
  ).all(run.id) as Record<string, string | number | null>[];
  const drifts = db.prepare(
    `SELECT kind, item, symbol, broker_value, wf_value, drift, outcome FROM reconciliations
     WHERE run_id = ? AND account_id = ? AND outcome <> 'ok' ORDER BY kind DESC, symbol, item`,
  );
  return {
    runId: Number(run.id),
    command: String(run.command),
    reconciledAt: String(run.at),
    accounts: accounts.map((a) => ({
      accountId: String(a.account_id),
      wealthfolioAccountId: String(a.wf_account_id),
      statementToDate: a.statement_to_date === null ? null : String(a.statement_to_date),
      positions: Number(a.position_lines),
      positionDrifts: Number(a.position_drifts),
      currencies: Number(a.cash_lines),
      cashDrifts: Number(a.cash_drifts),
      drifts: (drifts.all(run.id, String(a.account_id)) as Record<string, string | null>[]).map(
        (d) => ({
          kind: d.kind as "position" | "cash",
          item: String(d.item),
          symbol: String(d.symbol ?? d.item),
          brokerValue: d.broker_value,
          wfValue: d.wf_value,
          drift: String(d.drift),
          outcome: d.outcome as ReconciliationLine["outcome"],
        }),
      ),
    })),
  };
}
