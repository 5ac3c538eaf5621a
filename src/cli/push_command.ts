/**
 * The Wealthfolio push on the command line: the `import` command, and the push step `backfill`
 * runs after journaling. The push use case is imported only when it runs.
 */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { RowsRefusedError } from "../app/errors.ts";
import type { PushReport } from "../app/push.ts";
import type { RunLock } from "../journal/lock.ts";
import { type Config, ConfigError, type WealthfolioConfig } from "./config.ts";
import type { ExitCode } from "./exit_codes.ts";
import { classify, ExitError } from "./failure.ts";
import { logger } from "./logging.ts";
import { countsText, print, printJson } from "./output.ts";
import { registerSecret } from "./secrets.ts";

export interface PushOptions {
  readonly dryRun: boolean;
  readonly retryFailed: boolean;
  readonly batchSize: number | null;
  /** The run lock, when the caller holds it (`sync`). */
  readonly lock?: RunLock;
}

/** Runs the push with the configuration; the report, or a typed error when setup refused. */
export async function runPush(config: Config, options: PushOptions): Promise<PushReport> {
  const wealthfolio = requireWealthfolio(config, "to push to");
  const { push } = await import("../app/push.ts");
  return await push({
    dataDir: config.dataDir,
    wealthfolio,
    accountMap: config.accountMap,
    dryRun: options.dryRun,
    retryFailed: options.retryFailed,
    batchSize: options.batchSize,
    now: () => new Date(),
    exitCodeOf: (e) => classify(e).code,
    onSecret: registerSecret,
    lock: options.lock,
  });
}

/** The Wealthfolio configuration, or a ConfigError naming WF_BASE_URL and what it is `for`. */
export function requireWealthfolio(config: Config, purpose: string): WealthfolioConfig {
  if (config.wealthfolio === null) {
    throw new ConfigError(
      `WF_BASE_URL is not set: it is the Wealthfolio server ${purpose} ` +
        "(e.g. https://wealthfolio.example)",
    );
  }
  return config.wealthfolio;
}

/** Throws the ExitError a report ends with (a stop, or refused rows); nothing when all went well. */
export function endOf(report: PushReport): void {
  const failure = pushFailure(report);
  if (failure) throw failure;
}

/** What a report ends with: a stop, refused rows, or null when all went well. */
export function pushFailure(report: PushReport): ExitError | RowsRefusedError | null {
  if (report.stopped) {
    return new ExitError(report.stopped.message, report.stopped.exitCode as ExitCode);
  }
  const refused = report.accounts.reduce((n, a) => n + a.failed, 0);
  return !report.dryRun && refused > 0 ? new RowsRefusedError(refused) : null;
}

/** `import`: push what is pending (or plan it with --dry-run). */
export function addImportCommand(
  program: Command,
  setup: (command: Command) => { json?: boolean; config: Config },
): void {
  program.command("import")
    .description(
      "push pending activities (and owed corrections) to Wealthfolio, after mapping again " +
        "statements an older mapping version mapped",
    )
    .option("--dry-run", "print the plan: what would be created, found, skipped; write nothing")
    .option("--retry-failed", "send activities Wealthfolio refused before once more")
    .option(
      "--batch-size <n>",
      "at most n activities per bulk call (default: as many as fit 2 MB)",
      positiveInt,
    )
    .action(async (flags, command) => {
      const { json, config } = setup(command as unknown as Command);
      const report = await runPush(config, {
        dryRun: flags.dryRun ?? false,
        retryFailed: flags.retryFailed ?? false,
        batchSize: flags.batchSize ?? null,
      });
      if (json) printJson(report);
      else print(pushText(report));
      endOf(report);
    });
}

/**
 * The push step of `backfill`: runs unless `--no-push`; without WF_BASE_URL there is nowhere
 * to push, which is said on stderr (the journal was still written). The journal's result is
 * printed first whatever the push came to, so `finish` reports the push's end afterwards.
 */
export async function pushAfterBackfill(
  config: Config,
  push: boolean,
): Promise<{ report: PushReport | null; text: string; finish: () => void }> {
  if (!push) return { report: null, text: "", finish: () => {} };
  if (config.wealthfolio === null) {
    logger("backfill").warn(
      "not pushing to Wealthfolio: WF_BASE_URL is not set (pass --no-push to only journal)",
    );
    return { report: null, text: "", finish: () => {} };
  }
  try {
    const report = await runPush(config, { dryRun: false, retryFailed: false, batchSize: null });
    return { report, text: `\n${pushText(report)}`, finish: () => endOf(report) };
  } catch (error) {
    return {
      report: null,
      text: "",
      finish: () => {
        throw error;
      },
    };
  }
}

/** A commander argument parser for a count such as `--limit` or `--batch-size`. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return n;
}

/** The report for people. */
export function pushText(r: PushReport): string {
  const lines: string[] = [];
  lines.push(
    r.dryRun
      ? `Wealthfolio ${r.wealthfolio}: dry run, nothing was written`
      : `Wealthfolio ${r.wealthfolio}`,
  );
  if (r.remapped > 0) {
    lines.push(
      r.dryRun
        ? `  ${r.remapped} statement(s) mapped by an older version will be mapped again first`
        : `  ${r.remapped} statement(s) mapped by an older version were mapped again first`,
    );
  }
  if (r.accounts.length === 0 && r.corrections.length === 0 && !r.stopped) {
    lines.push("  nothing to push");
  }
  for (const a of r.accounts) {
    const w = a.wealthfolioAccount;
    const created = Object.values(a.new).reduce((x, y) => x + y, 0);
    lines.push(
      `  ${a.ibkrAccounts.join(", ")} → ${w.id} "${w.name}" (${w.trackingMode})`,
    );
    lines.push(
      `    ${r.dryRun ? "new, to create" : "created"}: ${created}${
        created ? ` (${countsText(a.new)})` : ""
      }`,
    );
    lines.push(`    already in Wealthfolio: ${a.alreadyInWealthfolio}`);
    lines.push(`    ${r.dryRun ? "cannot be booked" : "refused"}: ${a.failed}`);
    for (const asset of a.assets) {
      lines.push(
        `    asset ${asset.instrument}: ${asset.outcome}${
          asset.quoteCcy ? ` (${asset.quoteCcy})` : ""
        }${asset.message ? ` — ${asset.message}` : ""}`,
      );
    }
  }
  if (r.corrections.length) {
    lines.push(`  corrections: ${r.corrections.length}`);
    for (const c of r.corrections) {
      lines.push(`    ${c.action} ${c.targetKey}: ${c.outcome} (${c.reason}, by ${c.cancelKey})`);
    }
  }
  const skipped = Object.values(r.skipped).reduce((x, y) => x + y, 0);
  lines.push(
    `  skipped rows (never pushed): ${skipped}${skipped ? ` (${countsText(r.skipped)})` : ""}`,
  );
  lines.push(`  superseded rows (never pushed): ${r.superseded}`);
  lines.push(`  failed rows in the journal: ${r.failed.length}`);
  for (const f of r.failed.slice(0, 20)) lines.push(`    ${f.key}: ${f.reason}`);
  if (r.failed.length > 20) lines.push(`    … ${r.failed.length - 20} more`);
  lines.push(`  still pending: ${r.pending}`);
  if (r.runId !== null) lines.push(`  run ${r.runId}${r.stopped ? " (stopped)" : ""}`);
  return lines.join("\n");
}
