/**
 * Run metrics as Prometheus text exposition (format 0.0.4): one document per Pushgateway group
 * (the job and one account). Metric values are float64 in Prometheus, so this is the one place a
 * Decimal drift becomes a JS number: after the comparison, never before.
 *
 * Every metric is a gauge, so the text is written here rather than through prom-client: `deno
 * compile` overflows its stack on a data file inside prom-client's dependency `bintrees`, which
 * would leave no release binary at all.
 */
import type { AccountMetrics, RunMetrics } from "./run_metrics.ts";

/** The Content-Type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The metrics of one group, ready to push. */
export interface MetricsGroup {
  /** Pushgateway grouping labels besides `job` (empty, or `{account}`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The group's exposition text. */
  readonly body: string;
}

/** One group per account (or one for the job when no account is known). */
export function metricsGroups(run: RunMetrics): MetricsGroup[] {
  if (run.accounts.length === 0) return [{ labels: {}, body: groupText(run, null) }];
  return run.accounts.map((a) => ({ labels: { account: a.account }, body: groupText(run, a) }));
}

/** A gauge family: its samples, written only when it has any. */
class Gauge {
  readonly #samples: string[] = [];
  constructor(readonly name: string, readonly help: string) {}

  set(labels: Readonly<Record<string, string>>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.#samples.push(
      `${this.name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${sampleValue(value)}`,
    );
  }

  text(): string {
    if (this.#samples.length === 0) return "";
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`]
      .concat(this.#samples).join("\n") + "\n";
  }
}

function groupText(run: RunMetrics, account: AccountMetrics | null): string {
  const families: Gauge[] = [];
  const gauge = (name: string, help: string) => {
    const g = new Gauge(name, help);
    families.push(g);
    return g;
  };

  if (account) {
    const acct = account.account;
    const drift = gauge(
      "ibkr_position_drift_shares",
      "IBKR OpenPositions quantity minus Wealthfolio's, per position reconciled by the last run (0 within tolerance)",
    );
    for (const p of account.positionDrift) {
      drift.set({ symbol: p.symbol, account: acct }, p.drift.toNumber());
    }
    const cash = gauge(
      "ibkr_cash_drift",
      "IBKR CashReport ending cash minus Wealthfolio's cash, per currency reconciled by the last run (0 within tolerance)",
    );
    for (const c of account.cashDrift) {
      cash.set({ currency: c.currency, account: acct }, c.drift.toNumber());
    }
    const activities = gauge(
      "ibkr_activities",
      "Journal activities by state (pending, pushed, skipped, failed, superseded)",
    );
    for (const [state, n] of Object.entries(account.activities)) {
      activities.set({ state, account: acct }, n);
    }
    const skipped = gauge(
      "ibkr_skipped_rows",
      "Journal rows skipped by reason (what an operator reviews)",
    );
    for (const [reason, n] of Object.entries(account.skippedRows)) {
      skipped.set({ reason, account: acct }, n);
    }
  }
  if (run.lastSuccess) {
    gauge(
      "ibkr_sync_last_success_timestamp_seconds",
      "When the last sync with every step successful finished (unix seconds)",
    ).set({}, run.lastSuccess.getTime() / 1000);
  }
  const errors = gauge(
    "ibkr_flex_error",
    "IBKR Flex Web Service error codes answered during the last run, by code",
  );
  for (const [code, n] of Object.entries(run.flexErrors)) errors.set({ code }, n);
  gauge("ibkr_run_duration_seconds", "Duration of the last run")
    .set({ command: run.command }, run.durationSeconds);
  gauge("ibkr_run_exit_code", "Exit code of the last run (0 is success)")
    .set({ command: run.command }, run.exitCode);
  if (run.tokenExpiry) {
    gauge(
      "ibkr_flex_token_expiry_timestamp_seconds",
      "When the IBKR Flex token expires (unix seconds)",
    ).set({}, run.tokenExpiry.getTime() / 1000);
  }
  return families.map((f) => f.text()).join("");
}

/** A sample value as the format writes it (Go's ParseFloat reads JS's shortest form). */
function sampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
