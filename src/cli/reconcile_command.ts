/**
 * The `reconcile` command once its flags are parsed: reconcile, push the run's metrics, print,
 * and decide the exit code. Wealthfolio's holdings are read by its client (which owns login), each
 * account checked to exist first.
 */
import { type AccountMapping, namedBy } from "../app/account_pairs.ts";
import type { AccountPair, ReconcileReport } from "../app/reconcile.ts";
import type { PushOutcome } from "../metrics/pushgateway.ts";
import type { Tolerance } from "../reconcile/compare.ts";
import type { SettleOptions } from "../reconcile/settle.ts";
import { WealthfolioClient } from "../wealthfolio/client.ts";
import { AccountHoldings, type HoldingsSource } from "../wealthfolio/holdings.ts";
import { SessionFile } from "../wealthfolio/session.ts";
import type { Config, WealthfolioConfig } from "./config.ts";
import { EXIT } from "./exit_codes.ts";
import { classify } from "./failure.ts";
import { tokenExpiresAt } from "./flex_config.ts";
import { print, printJson } from "./output.ts";
import { publishRunMetrics } from "./publish_metrics.ts";
import { requireWealthfolio } from "./push_command.ts";
import { reconcileJson, reconcileText } from "./reconcile_output.ts";
import { registerSecret } from "./secrets.ts";

export interface ReconcileCommand {
  readonly config: Config;
  /** The pairs, or the mapping that pairs the journal's accounts. */
  readonly accounts: readonly AccountPair[] | AccountMapping;
  readonly holdings: HoldingsSource;
  readonly json: boolean;
  readonly failOnDrift: boolean;
  readonly settle?: Partial<SettleOptions>;
  readonly tolerance?: Tolerance;
  readonly now?: () => Date;
  /** When the Flex token expires, when known: pushed with the metrics. */
  readonly tokenExpiry?: Date | null;
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
      settle: { ...systemSettle(DEFAULT_SETTLE), ...c.settle },
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

function publish(
  c: ReconcileCommand,
  startedAt: Date,
  finishedAt: Date,
  exitCode: number,
  report: ReconcileReport | undefined,
): Promise<PushOutcome> {
  return publishRunMetrics(c.config, {
    command: "reconcile",
    accounts: "accountMap" in c.accounts
      ? Object.keys(c.accounts.accountMap)
      : c.accounts.map((a) => a.ibkr),
    reconciled: report?.accounts,
    startedAt,
    finishedAt,
    exitCode,
    tokenExpiry: c.tokenExpiry,
  });
}

/** `reconcile [--fail-on-drift]` from the configuration; returns the exit code. */
export async function reconcileAction(
  config: Config,
  failOnDrift: boolean,
  json: boolean,
): Promise<number> {
  const wealthfolio = requireWealthfolio(config, "to read holdings from");
  const result = await runReconcileCommand({
    config,
    accounts: accountMapping(config, wealthfolio),
    holdings: holdingsSource(config, wealthfolio),
    json,
    failOnDrift,
    tokenExpiry: tokenExpiresAt((name) => Deno.env.get(name)),
  });
  return result.exitCode;
}

/** `IBKR_ACCOUNTS` and `IBKR_ACCOUNT_ID`, as reconciliation pairs accounts by. */
export function accountMapping(config: Config, wealthfolio: WealthfolioConfig): AccountMapping {
  return { accountMap: config.accountMap, defaultAccountId: wealthfolio.defaultAccountId };
}

/** Holdings read by a Wealthfolio client with the cached session, each account checked first. */
export function holdingsSource(config: Config, wealthfolio: WealthfolioConfig): HoldingsSource {
  const client = new WealthfolioClient({
    baseUrl: wealthfolio.baseUrl,
    password: wealthfolio.password,
    sessionFile: new SessionFile(wealthfolio.sessionPath, wealthfolio.baseUrl),
    persistSession: true,
    onSecret: registerSecret,
  });
  const mapping = accountMapping(config, wealthfolio);
  return new AccountHoldings(client, (id) => namedBy(mapping, id));
}

/** Settling on the real clock. */
export function systemSettle(
  timing: Pick<SettleOptions, "intervalMs" | "deadlineMs">,
): SettleOptions {
  return {
    ...timing,
    clock: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
