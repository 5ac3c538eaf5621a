/**
 * The `reconcile` command once its flags are parsed: reconcile, push the run's metrics, print,
 * and decide the exit code. main.ts registers it with a `HoldingsSource` from the Wealthfolio
 * client (which owns login); this module needs nothing else.
 */
import type { AccountPair, ReconcileReport } from "../app/reconcile.ts";
import type { PushOutcome } from "../metrics/pushgateway.ts";
import type { Tolerance } from "../reconcile/compare.ts";
import type { SettleOptions } from "../reconcile/settle.ts";
import type { HoldingsSource } from "../wealthfolio/holdings.ts";
import type { Config } from "./config.ts";
import { EXIT } from "./exit_codes.ts";
import { classify } from "./failure.ts";
import { logger } from "./logging.ts";
import { print, printJson } from "./output.ts";
import { reconcileJson, reconcileText } from "./reconcile_output.ts";

export interface ReconcileCommand {
  readonly config: Config;
  readonly accounts: readonly AccountPair[];
  readonly holdings: HoldingsSource;
  readonly json: boolean;
  readonly failOnDrift: boolean;
  readonly settle?: Partial<SettleOptions>;
  readonly tolerance?: Tolerance;
  readonly now?: () => Date;
  /** Where results go (stdout by default). */
  readonly out?: { text: (s: string) => void; json: (v: unknown) => void };
}

/** What the command did, for the caller (and tests): the exit code and the metrics outcome. */
export interface ReconcileCommandResult {
  readonly exitCode: number;
  readonly report: ReconcileReport;
  readonly metrics: PushOutcome;
}

/**
 * Runs it. A failed reconciliation still pushes what it knows (its exit code, its duration) and
 * then rethrows for main.ts to print. Drift with `--fail-on-drift` outranks a failed push (30
 * over 33): the push failure is still logged.
 */
export async function runReconcileCommand(c: ReconcileCommand): Promise<ReconcileCommandResult> {
  const { reconcile } = await import("../app/reconcile.ts");
  const { DEFAULT_SETTLE } = await import("../reconcile/settle.ts");
  const now = c.now ?? (() => new Date());
  const startedAt = now();
  const exitCodeFor = (drift: boolean) => drift && c.failOnDrift ? EXIT.DRIFT : EXIT.OK;
  let report: ReconcileReport;
  try {
    report = await reconcile({
      dataDir: c.config.dataDir,
      accounts: c.accounts,
      holdings: c.holdings,
      settle: {
        ...DEFAULT_SETTLE,
        clock: () => performance.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        ...c.settle,
      },
      tolerance: c.tolerance,
      now,
      exitCodeFor,
    });
  } catch (error) {
    await publish(c, startedAt, now(), classify(error).code, undefined);
    throw error;
  }
  let exitCode: number = exitCodeFor(report.drift);
  const metrics = await publish(c, startedAt, now(), exitCode, report);
  if (!metrics.pushed && metrics.reason === "failed" && exitCode === EXIT.OK) {
    exitCode = EXIT.METRICS_PUSH;
  }
  const out = c.out ?? { text: print, json: printJson };
  if (c.json) out.json(reconcileJson(report, metrics));
  else out.text(reconcileText(report));
  return { exitCode, report, metrics };
}

async function publish(
  c: ReconcileCommand,
  startedAt: Date,
  finishedAt: Date,
  exitCode: number,
  report: ReconcileReport | undefined,
): Promise<PushOutcome> {
  const { collectRunMetrics } = await import("../app/run_metrics.ts");
  const { pushMetrics } = await import("../metrics/pushgateway.ts");
  const log = logger("metrics");
  const metrics = collectRunMetrics({
    dataDir: c.config.dataDir,
    command: "reconcile",
    accounts: c.accounts.map((a) => a.ibkr),
    reconciled: report?.accounts,
    startedAt,
    finishedAt,
    exitCode,
  });
  const outcome = await pushMetrics(c.config.pushgatewayUrl, metrics);
  if (outcome.pushed) log.info(`metrics pushed: ${outcome.groups.join(", ")}`);
  else if (outcome.reason === "no-url") log.info("PUSHGATEWAY_URL is not set: metrics not pushed");
  else log.error(`broker-sync: ${outcome.error.message}`);
  return outcome;
}
