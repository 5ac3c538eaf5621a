/**
 * Run metrics as Prometheus text: one prom-client registry per Pushgateway group (the job and
 * one account). Metric values are float64 in Prometheus, so this is the one place a Decimal
 * drift becomes a JS number: after the comparison, never before.
 */
import { Gauge, Registry } from "prom-client";
import type { AccountMetrics, RunMetrics } from "./run_metrics.ts";

/** The metrics of one group, ready to push. */
export interface MetricsGroup {
  /** Pushgateway grouping labels besides `job` (empty, or `{account}`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly registry: Registry;
}

/** One group per account (or one for the job when no account is known). */
export function metricsGroups(run: RunMetrics): MetricsGroup[] {
  if (run.accounts.length === 0) return [{ labels: {}, registry: groupRegistry(run, null) }];
  return run.accounts.map((a) => ({
    labels: { account: a.account },
    registry: groupRegistry(run, a),
  }));
}

function groupRegistry(run: RunMetrics, account: AccountMetrics | null): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [registry] });

  if (account) {
    // Each per-account metric: one series per `label` value, all labelled with the account.
    const perAccount = (
      name: string,
      help: string,
      label: string,
      values: Iterable<readonly [string, number]>,
    ) => {
      const metric = gauge(name, help, [label, "account"]);
      for (const [value, n] of values) metric.set({ [label]: value, account: account.account }, n);
    };
    perAccount(
      "ibkr_position_drift_shares",
      "IBKR OpenPositions quantity minus Wealthfolio's, per position reconciled by the last run (0 within tolerance)",
      "symbol",
      account.positionDrift.map((p) => [p.symbol, p.drift.toNumber()]),
    );
    perAccount(
      "ibkr_cash_drift",
      "IBKR CashReport ending cash minus Wealthfolio's cash, per currency reconciled by the last run (0 within tolerance)",
      "currency",
      account.cashDrift.map((c) => [c.currency, c.drift.toNumber()]),
    );
    perAccount(
      "ibkr_activities",
      "Journal activities by state (pending, pushed, skipped, failed, superseded)",
      "state",
      Object.entries(account.activities),
    );
    perAccount(
      "ibkr_skipped_rows",
      "Journal rows skipped by reason (what an operator reviews)",
      "reason",
      Object.entries(account.skippedRows),
    );
  }
  if (run.lastSuccess) {
    gauge(
      "ibkr_sync_last_success_timestamp_seconds",
      "When the last sync with every step successful finished (unix seconds)",
      [],
    ).set(run.lastSuccess.getTime() / 1000);
  }
  const errors = gauge(
    "ibkr_flex_error",
    "IBKR Flex Web Service error codes answered during the last run, by code",
    ["code"],
  );
  for (const [code, n] of Object.entries(run.flexErrors)) errors.set({ code }, n);
  gauge("ibkr_run_duration_seconds", "Duration of the last run", ["command"])
    .set({ command: run.command }, run.durationSeconds);
  gauge("ibkr_run_exit_code", "Exit code of the last run (0 is success)", ["command"])
    .set({ command: run.command }, run.exitCode);
  if (run.tokenExpiry) {
    gauge(
      "ibkr_flex_token_expiry_timestamp_seconds",
      "When the IBKR Flex token expires (unix seconds)",
      [],
    ).set(run.tokenExpiry.getTime() / 1000);
  }
  return registry;
}
