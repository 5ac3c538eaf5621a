/**
 * How a reconciliation is shown: a table per account for people, and the `--json` document
 * (docs/cli.md) with every quantity and amount as an exact decimal string.
 */
import type { ReconcileReport } from "../app/reconcile.ts";
import type { PushOutcome } from "../metrics/pushgateway.ts";
import { table } from "./output.ts";

/** The `--json` shape of `reconcile`. */
export function reconcileJson(report: ReconcileReport, metrics: PushOutcome): unknown {
  return { ...reconcileReportJson(report), metrics: metricsJson(metrics) };
}

/** A reconciliation as JSON, every quantity and amount an exact decimal string. */
export function reconcileReportJson(report: ReconcileReport): Record<string, unknown> {
  return {
    runId: report.runId,
    journal: report.journal,
    reconciledAt: report.reconciledAt,
    drift: report.drift,
    accounts: report.accounts.map((a) => ({
      accountId: a.accountId,
      wealthfolioAccountId: a.wealthfolioAccountId,
      statement: {
        origin: a.statement.origin,
        fromDate: a.statement.fromDate,
        toDate: a.statement.toDate,
      },
      holdingsReads: a.holdingsReads,
      unpushedActivities: a.unpushedActivities,
      drift: a.drift,
      positions: a.positions.map((p) => ({
        symbol: p.symbol,
        exchangeMic: p.exchangeMic,
        conid: p.conid,
        isin: p.isin,
        ibkr: p.ibkr?.toFixed() ?? null,
        wealthfolio: p.wealthfolio?.toFixed() ?? null,
        drift: p.drift.toFixed(),
        outcome: p.outcome,
        matchedBy: p.matchedBy,
        note: p.note,
      })),
      cash: a.cash.map((c) => ({
        currency: c.currency,
        ibkr: c.ibkr?.toFixed() ?? null,
        wealthfolio: c.wealthfolio?.toFixed() ?? null,
        drift: c.drift.toFixed(),
        outcome: c.outcome,
      })),
      uncompared: a.uncompared,
    })),
  };
}

/** The metrics outcome as JSON: `{pushed, groups}` or `{pushed: false, reason, error?}`. */
export function metricsJson(metrics: PushOutcome): unknown {
  if (metrics.pushed) return { pushed: true, groups: metrics.groups };
  if (metrics.reason === "no-url") return { pushed: false, reason: "PUSHGATEWAY_URL not set" };
  return { pushed: false, reason: "failed", error: metrics.error.message };
}

const OUTCOME_TEXT: Record<string, string> = {
  ok: "ok",
  differs: "DIFFERS",
  "missing-in-wealthfolio": "MISSING in Wealthfolio",
  "only-in-wealthfolio": "ONLY in Wealthfolio",
};

/** The human table of `reconcile`. */
export function reconcileText(report: ReconcileReport): string {
  const lines: string[] = [];
  for (const a of report.accounts) {
    lines.push(
      `${a.accountId} → Wealthfolio ${a.wealthfolioAccountId}: ${
        a.drift ? "DRIFT" : "agrees"
      } (statement ${a.statement.origin} to ${
        a.statement.toDate ?? "?"
      }; holdings settled after ${a.holdingsReads} reads)`,
    );
    lines.push("  positions (shares):");
    lines.push(
      a.positions.length
        ? indent(
          table(
            ["symbol", "MIC", "IBKR", "Wealthfolio", "drift", ""],
            a.positions.map((p) => [
              p.symbol,
              p.exchangeMic,
              p.ibkr?.toFixed() ?? "-",
              p.wealthfolio?.toFixed() ?? "-",
              p.drift.toFixed(),
              OUTCOME_TEXT[p.outcome] + (p.note ? ` (${p.note})` : ""),
            ]),
          ),
          4,
        )
        : "    none on either side",
    );
    lines.push("  cash:");
    lines.push(
      a.cash.length
        ? indent(
          table(
            ["currency", "IBKR", "Wealthfolio", "drift", ""],
            a.cash.map((c) => [
              c.currency,
              c.ibkr?.toFixed() ?? "-",
              c.wealthfolio?.toFixed() ?? "-",
              c.drift.toFixed(),
              OUTCOME_TEXT[c.outcome],
            ]),
          ),
          4,
        )
        : "    none on either side",
    );
    for (const [kind, n] of Object.entries(a.uncompared)) {
      lines.push(`  not compared: ${n} ${kind} holding(s)`);
    }
    if (a.unpushedActivities > 0) {
      lines.push(
        `  ${a.unpushedActivities} activit${
          a.unpushedActivities === 1 ? "y is" : "ies are"
        } not in Wealthfolio yet (pending or failed): drift is expected until ${
          a.unpushedActivities === 1 ? "it is" : "they are"
        } pushed`,
      );
    }
  }
  const drifted = report.accounts.filter((a) => a.drift).length;
  lines.push(
    drifted
      ? `${drifted} of ${report.accounts.length} account(s) drift`
      : `all ${report.accounts.length} account(s) agree`,
  );
  lines.push(`journal: ${report.journal} (run ${report.runId})`);
  return lines.join("\n");
}

function indent(text: string, spaces: number): string {
  return text.split("\n").map((l) => `${" ".repeat(spaces)}${l}`).join("\n");
}
