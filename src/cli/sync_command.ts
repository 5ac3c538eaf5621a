/**
 * `sync` on the command line: every setting checked before the lock is taken, the three steps
 * wired to their use cases, each step's failure one `broker-sync: <step>: …` line on stderr as it
 * happens, the run's metrics pushed (the Flex error codes IBKR answered, the token's expiry), the
 * result printed, and the worst exit code returned. Loaded only when `sync` runs.
 */
import type { FlexWindowsResult } from "../app/flex_windows.ts";
import type { PushReport } from "../app/push.ts";
import type { ReconcileReport } from "../app/reconcile.ts";
import type { StepReport, SyncReport } from "../app/sync.ts";
import type { FlexEvent } from "../flex/service_client.ts";
import { JournalLockedError } from "../journal/errors.ts";
import type { PushOutcome } from "../metrics/pushgateway.ts";
import type { Config } from "./config.ts";
import { EXIT, worstExitCode } from "./exit_codes.ts";
import { classify, oneLine } from "./failure.ts";
import { flexClient, inWindowsRun, today, warnWithoutGuard, windowsText } from "./flex_commands.ts";
import { loadFlexConfig, tokenExpiresAt } from "./flex_config.ts";
import { print, printJson } from "./output.ts";
import { publishRunMetrics } from "./publish_metrics.ts";
import { pushFailure, pushText, requireWealthfolio, runPush } from "./push_command.ts";
import { accountMapping, holdingsSource, systemSettle } from "./reconcile_command.ts";
import { metricsJson, reconcileReportJson, reconcileText } from "./reconcile_output.ts";
import { redactSecrets } from "./secrets.ts";

/** The fetch step's window flags, as `fetch` takes them. */
export interface SyncFlags {
  readonly from?: string;
  readonly to?: string;
  readonly overlap?: number;
}

const env = (name: string) => Deno.env.get(name);

/** `sync`; returns the exit code. Throws (for main.ts) only what stopped it before any step. */
export async function syncAction(config: Config, flags: SyncFlags, json: boolean): Promise<number> {
  const startedAt = new Date();
  const flexErrors: Record<string, number> = {};
  const countCodes = (event: FlexEvent) => {
    if (event.kind === "answer" && event.code !== null) {
      flexErrors[event.code] = (flexErrors[event.code] ?? 0) + 1;
    }
  };
  let tokenExpiry: Date | null = null;
  let report: SyncReport;
  try {
    // Every setting first: one that is wrong is exit 2 before anything is locked or written.
    const flex = loadFlexConfig(env);
    tokenExpiry = tokenExpiresAt(env);
    const wealthfolio = requireWealthfolio(config, "to push to and reconcile against");
    const { fetchPlan, fetchStatements, DEFAULT_OVERLAP_DAYS } = await import("../app/fetch.ts");
    const window = {
      from: flags.from,
      to: flags.to,
      overlapDays: flags.overlap ?? DEFAULT_OVERLAP_DAYS,
      today: today(),
    };
    fetchPlan(null, window);
    warnWithoutGuard(config, "fetch");
    const { sync } = await import("../app/sync.ts");
    const { reconcile } = await import("../app/reconcile.ts");
    const { DEFAULT_SETTLE } = await import("../reconcile/settle.ts");
    const source = flexClient(flex, countCodes);
    const now = () => new Date();
    const exitCodeOf = (e: unknown) => classify(e).code;
    report = await sync({
      dataDir: config.dataDir,
      now,
      exitCodeOf,
      worst: worstExitCode,
      onStep: (step) => {
        if (step.message) writeErr(`broker-sync: ${step.step}: ${oneLine(step.message)}`);
      },
      steps: {
        fetch: async (lock) => {
          const result = await inWindowsRun(
            json,
            "fetch",
            config,
            flex,
            source,
            (shared) => fetchStatements({ ...shared, window, lock }),
          );
          return { result, exitCode: EXIT.OK, complete: true };
        },
        import: async (lock) => {
          const result = await runPush(config, {
            dryRun: false,
            retryFailed: false,
            batchSize: null,
            lock,
          });
          const failure = pushFailure(result);
          return {
            result,
            exitCode: failure ? classify(failure).code : EXIT.OK,
            complete: failure === null,
            message: failure?.message ?? null,
          };
        },
        reconcile: async (lock) => {
          const exitCodeFor = (drift: boolean) => drift ? EXIT.DRIFT : EXIT.OK;
          const result = await reconcile({
            dataDir: config.dataDir,
            accounts: accountMapping(config, wealthfolio),
            holdings: holdingsSource(config, wealthfolio),
            settle: systemSettle(DEFAULT_SETTLE),
            now,
            exitCodeFor,
            lock,
          });
          // Drift is what reconcile is for, not a failure of it: the step did its work.
          return { result, exitCode: exitCodeFor(result.drift), complete: true };
        },
      },
    });
  } catch (error) {
    // Another run holds the lock: this one did nothing, and the holder reports for both.
    if (!(error instanceof JournalLockedError)) {
      await publish(config, startedAt, classify(error).code, flexErrors, tokenExpiry, null);
    }
    throw error;
  }
  let exitCode = report.exitCode;
  const metrics = await publish(config, startedAt, exitCode, flexErrors, tokenExpiry, report);
  if (!metrics.pushed && metrics.reason === "failed") {
    exitCode = worstExitCode([exitCode, EXIT.METRICS_PUSH]);
  }
  if (json) printJson(syncJson(report, exitCode, flexErrors, metrics));
  else print(syncText(report, exitCode));
  return exitCode;
}

function publish(
  config: Config,
  startedAt: Date,
  exitCode: number,
  flexErrors: Readonly<Record<string, number>>,
  tokenExpiry: Date | null,
  report: SyncReport | null,
): Promise<PushOutcome> {
  const reconciled = report?.steps.find((s) => s.step === "reconcile")?.result as
    | ReconcileReport
    | null
    | undefined;
  return publishRunMetrics(config, {
    command: "sync",
    accounts: [...config.accounts, ...Object.keys(config.accountMap)],
    reconciled: reconciled?.accounts,
    flexErrors,
    startedAt,
    finishedAt: new Date(),
    exitCode,
    tokenExpiry,
  });
}

/** The `--json` shape of `sync` (docs/cli.md). */
function syncJson(
  report: SyncReport,
  exitCode: number,
  flexErrors: Readonly<Record<string, number>>,
  metrics: PushOutcome,
): unknown {
  const step = (s: StepReport) => ({
    outcome: s.outcome,
    exitCode: s.exitCode,
    error: s.message,
    result: s.result === null
      ? null
      : s.step === "reconcile"
      ? reconcileReportJson(s.result as ReconcileReport)
      : s.result,
  });
  return {
    runId: report.runId,
    journal: report.journal,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    succeeded: report.succeeded,
    exitCode,
    steps: Object.fromEntries(report.steps.map((s) => [s.step, step(s)])),
    flexErrors,
    metrics: metricsJson(metrics),
  };
}

/** The report for people: each step's own text under a heading, then the verdict. */
function syncText(report: SyncReport, exitCode: number): string {
  const lines: string[] = [];
  for (const s of report.steps) {
    const verdict = s.outcome === "failed"
      ? `FAILED (exit ${s.exitCode})`
      : s.exitCode === EXIT.DRIFT
      ? `DRIFT (exit ${s.exitCode})`
      : "ok";
    lines.push(`== ${s.step}: ${verdict}`);
    if (s.result !== null) lines.push(stepText(s));
    if (s.message) lines.push(`  ${oneLine(s.message)}`);
  }
  const codes = report.steps.map((s) => `${s.step} ${s.exitCode}`).join(", ");
  lines.push(
    `== sync run ${report.runId}: ${
      report.succeeded ? "every step did its work" : "not every step did its work"
    }; exit ${exitCode} (the worst of ${codes}${
      exitCode !== report.exitCode ? `, metrics ${EXIT.METRICS_PUSH}` : ""
    })`,
  );
  return lines.join("\n");
}

function stepText(s: StepReport): string {
  switch (s.step) {
    case "fetch":
      return windowsText(s.result as FlexWindowsResult);
    case "import":
      return pushText(s.result as PushReport);
    case "reconcile":
      return reconcileText(s.result as ReconcileReport);
  }
}

function writeErr(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(redactSecrets(`${line}\n`)));
}
