/**
 * The `broker-sync` command line: flags and environment in, a use case run, results out, one
 * exit code. No business logic lives here. Use cases are imported when their command runs, so
 * `--help` does not load SQLite, the XML reader or decimal.js.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { BackfillResult } from "../app/backfill.ts";
import { UsageError } from "../app/errors.ts";
import type { FlexWindowsResult } from "../app/flex_windows.ts";
import type { StatusReport } from "../app/status.ts";
import type { BooksReport } from "../app/verify_books.ts";
import { ACTIVITY_STATES, ACTIVITY_TYPES, type ActivityState } from "../domain/activity.ts";
import { isIsoDate } from "../flex/windows.ts";
import { VERSION } from "../version.ts";
import { loadConfig } from "./config.ts";
import { EXIT } from "./exit_codes.ts";
import { classify } from "./failure.ts";
import { configureLogging, type LogFormat, logger } from "./logging.ts";
import { activityView, countsText, print, printJson, table } from "./output.ts";
import { addImportCommand, positiveInt, pushAfterBackfill } from "./push_command.ts";
import { redactSecrets, registerSecret } from "./secrets.ts";

interface GlobalOptions {
  dataDir?: string;
  account?: string;
  json?: boolean;
  logFormat: LogFormat;
  verbose?: boolean;
}

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = new Command()
    .name("broker-sync")
    .description("Keeps a self-hosted Wealthfolio in step with Interactive Brokers.")
    .version(VERSION, "--version", "print the version and exit")
    .option(
      "--data-dir <dir>",
      "directory of the journal (env BROKER_SYNC_DATA_DIR; default ./data)",
    )
    .option(
      "--account <ids>",
      "accepted IBKR account ids, comma-separated (env IBKR_ACCOUNT_ID_UPSTREAM)",
    )
    .option("--json", "print machine-readable JSON on stdout (logs stay on stderr)")
    .addOption(
      new Option("--log-format <format>", "log format on stderr").choices(["text", "json"] as const)
        .default("text" as const),
    )
    .option("-v, --verbose", "log debug detail")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => print(s.replace(/\n$/, "")),
      writeErr: (s) => writeErr(s),
      // A usage error is the same one `broker-sync: …` line as every other refusal.
      outputError: (s, write) =>
        write(`broker-sync: ${s.replace(/^error: /, "").trimEnd()} (run with --help for usage)\n`),
      // Commander would read FORCE_COLOR/CLICOLOR_FORCE to decide on colour; the binary may
      // read only its documented variables, and help text needs no colour.
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });

  const globals = (command: { optsWithGlobals: () => unknown }) => {
    const options = command.optsWithGlobals() as GlobalOptions;
    configureLogging(options.logFormat, options.verbose ?? false);
    // Whatever the command, the token in the environment is never printed.
    registerSecret(Deno.env.get("IBKR_FLEX_TOKEN")?.trim());
    return options;
  };

  program.command("backfill")
    .description(
      "journal and map saved Flex statement files (a directory means its *.xml files), " +
        "and/or history from the Flex Web Service with --from",
    )
    .argument("[paths...]", "Flex XML files or directories")
    .option(
      "--from <date>",
      "also fetch [DATE, --to or yesterday] from the Flex Web Service, in windows of ≤365 days",
      isoDateArg,
    )
    .option(
      "--to <date>",
      "last day to fetch with --from (default yesterday, New York)",
      isoDateArg,
    )
    .option(
      "--no-push",
      "only journal and map; do not push to Wealthfolio",
    )
    .action(async (paths, flags, command) => {
      const options = globals(command);
      const config = loadConfig(options);
      if (paths.length === 0 && flags.from === undefined) {
        throw new UsageError(
          "nothing to backfill: give statement files or directories, or --from DATE",
        );
      }
      if (flags.to !== undefined && flags.from === undefined) {
        throw new UsageError("--to needs --from");
      }
      // Checked before any file is journaled, so a bad setting does not leave half a backfill.
      const service = flags.from === undefined
        ? undefined
        : (await import("./flex_commands.ts")).backfillServiceConfig(config);
      const log = logger("backfill");
      let result: BackfillResult = { runId: null, journal: "", files: [] };
      if (paths.length > 0) {
        const { backfillFiles } = await import("../app/backfill.ts");
        if (config.accounts.length === 0 && service === undefined) {
          log.warn(
            "no account guard configured (IBKR_ACCOUNT_ID_UPSTREAM or --account): accepting any account",
          );
        }
        result = backfillFiles({
          dataDir: config.dataDir,
          paths,
          accounts: config.accounts,
          accountsSource: config.accountsSource,
          now: () => new Date(),
          onFile: (file, index, total) =>
            log.info(`${index + 1}/${total} ${file.path}: ${file.outcome}`),
        });
      }
      let windows: FlexWindowsResult | null = null;
      if (service !== undefined && flags.from !== undefined) {
        const { backfillServiceAction } = await import("./flex_commands.ts");
        windows = await backfillServiceAction(
          config,
          service,
          { from: flags.from, to: flags.to },
          options.json ?? false,
        );
      }
      const journal = windows?.journal ?? result.journal;
      const pushed = await pushAfterBackfill(config, flags.push);
      if (options.json) printJson({ ...result, journal, service: windows, push: pushed.report });
      else {
        const parts = paths.length > 0 ? [backfillText(result)] : [];
        if (windows) parts.push((await import("./flex_commands.ts")).windowsText(windows));
        print(parts.join("\n") + pushed.text);
      }
      pushed.finish();
    });

  program.command("fetch")
    .description(
      "fetch statements from the IBKR Flex Web Service since the last fetch (the first run: the " +
        "last 365 days), journal and map them",
    )
    .option("--from <date>", "first day (default: last fetched day − overlap)", isoDateArg)
    .option("--to <date>", "last day (default: yesterday, New York)", isoDateArg)
    .option(
      "--overlap <days>",
      "days before the last fetched day to fetch again, for late corrections (default 7)",
      nonNegativeInt,
    )
    .action(async (flags, command) => {
      const options = globals(command);
      const { fetchAction } = await import("./flex_commands.ts");
      await fetchAction(loadConfig(options), flags, options.json ?? false);
    });

  program.command("verify-token")
    .description(
      "ask IBKR once whether a Flex token works (nothing is fetched); token from " +
        "IBKR_FLEX_TOKEN or --token-file",
    )
    .option("--token-file <path>", "read the token from this file, or from stdin with -")
    .option(
      "--expires-on <date>",
      "the token's expiry date, for days left (env IBKR_FLEX_TOKEN_EXPIRES)",
      isoDateArg,
    )
    .option(
      "--warn-days <days>",
      "exit 19 when fewer days than this are left (default 30)",
      nonNegativeInt,
    )
    .action(async (flags, command) => {
      const options = globals(command);
      const { verifyTokenAction } = await import("./flex_commands.ts");
      exitCode = await verifyTokenAction(loadConfig(options), flags, options.json ?? false);
    });

  addImportCommand(program, (command) => {
    const options = globals(command);
    return { json: options.json, config: loadConfig(options) };
  });

  program.command("reconcile")
    .description(
      "compare each account's latest statement (positions, cash) with Wealthfolio's holdings; " +
        "record the drift and push the metrics",
    )
    .option("--fail-on-drift", "exit 30 when a position or a cash balance drifted")
    .action(async (flags, command) => {
      const options = globals(command);
      const { reconcileAction } = await import("./reconcile_command.ts");
      exitCode = await reconcileAction(
        loadConfig(options),
        flags.failOnDrift ?? false,
        options.json ?? false,
      );
    });

  program.command("sync")
    .description(
      "the nightly job: fetch, import and reconcile under one run lock, then push the metrics; " +
        "exits with the worst step's code (drift is 30)",
    )
    .option("--from <date>", "the fetch step's first day (as for fetch)", isoDateArg)
    .option("--to <date>", "the fetch step's last day (as for fetch)", isoDateArg)
    .option(
      "--overlap <days>",
      "days before the last fetched day to fetch again (default 7)",
      nonNegativeInt,
    )
    .action(async (flags, command) => {
      const options = globals(command);
      const { syncAction } = await import("./sync_command.ts");
      exitCode = await syncAction(loadConfig(options), flags, options.json ?? false);
    });

  program.command("verify-books")
    .description(
      "check the mapping against each statement's own CashReport and OpenPositions (journal statements by default)",
    )
    .argument("[paths...]", "Flex XML files or directories instead of the journal's statements")
    .action(async (paths, _options, command) => {
      const options = globals(command);
      const { verifyBooks } = await import("../app/verify_books.ts");
      const report = verifyBooks({ dataDir: loadConfig(options).dataDir, paths });
      if (options.json) printJson(report);
      else print(booksText(report));
      if (report.outcome === "differs") exitCode = EXIT.BOOKS_DISAGREE;
    });

  program.command("status")
    .description(
      "summarise the journal: statements, activities by state and type, skipped rows, last runs",
    )
    .action(async (_options, command) => {
      const options = globals(command);
      const { readStatus } = await import("../app/status.ts");
      const report = readStatus(loadConfig(options).dataDir);
      if (options.json) printJson(report);
      else print(statusText(report));
    });

  program.command("activities")
    .description("list journaled activities")
    .addOption(new Option("--state <state...>", "only these states").choices(ACTIVITY_STATES))
    .addOption(new Option("--type <type...>", "only these activity types").choices(ACTIVITY_TYPES))
    .option("--from <date>", "business date on or after YYYY-MM-DD", isoDateArg)
    .option("--to <date>", "business date on or before YYYY-MM-DD", isoDateArg)
    .option("--symbol <symbol>", "only this symbol (as booked, e.g. VUAG.L)")
    .option("--reason <reason>", "only skipped rows with this reason (or reason prefix before ':')")
    .option("--limit <n>", "at most n rows", positiveInt)
    .action(async (filters, command) => {
      const options = globals(command);
      const config = loadConfig(options);
      const { journalActivities } = await import("../app/list_activities.ts");
      const rows = journalActivities(config.dataDir, {
        states: filters.state as ActivityState[] | undefined,
        types: filters.type,
        from: filters.from,
        to: filters.to,
        symbol: filters.symbol,
        reason: filters.reason,
        limit: filters.limit,
      }).map(activityView);
      if (options.json) {
        printJson(rows);
        return;
      }
      print(
        table(
          ["date", "type", "symbol", "quantity", "price", "amount", "fee", "ccy", "state", "key"],
          rows.map((r) => [
            r.date?.slice(0, 10) ?? null,
            r.activityType ?? `(${r.reason})`,
            r.symbol,
            r.quantity,
            r.unitPrice,
            r.amount,
            r.fee,
            r.currency,
            r.state,
            r.key,
          ]),
        ) + `\n${rows.length} row(s)`,
      );
    });

  try {
    await program.parseAsync([...args], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are normal exits; everything else is a usage error.
      exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    } else {
      const failure = classify(error);
      writeErr(`broker-sync: ${failure.message}\n`);
      if (!failure.expected) {
        logger("cli").debug("{stack}", { stack: (error as Error).stack ?? "" });
      }
      exitCode = failure.code;
    }
  }
  return exitCode;
}

/** Everything broker-sync writes to stderr outside the logger, redacted like the logs are. */
function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(redactSecrets(text)));
}

function isoDateArg(value: string): string {
  if (!isIsoDate(value)) throw new InvalidArgumentError(`"${value}" is not a YYYY-MM-DD date`);
  return value;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`"${value}" is not a whole number of days`);
  }
  return n;
}

function backfillText(result: BackfillResult): string {
  const lines: string[] = [];
  for (const file of result.files) {
    if (!file.mapping) {
      lines.push(
        `${file.path}: already journaled (sha256 ${file.sha256.slice(0, 12)}), nothing to do`,
      );
      continue;
    }
    const m = file.mapping;
    const periods = m.statements.map((s) =>
      `${s.accountId} ${s.fromDate ?? "?"}..${s.toDate ?? "?"}`
    ).join("; ");
    const journaled = Object.values(m.journaled).reduce((a, b) => a + b, 0);
    const skipped = Object.values(m.skipped).reduce((a, b) => a + b, 0);
    lines.push(`${file.path}: ${file.outcome} [${periods}]`);
    lines.push(`  activities journaled: ${journaled} (${countsText(m.journaled)})`);
    lines.push(`  rows skipped: ${skipped}${skipped ? ` (${countsText(m.skipped)})` : ""}`);
    if (m.unchanged) lines.push(`  already in the journal: ${m.unchanged}`);
    lines.push(`  rows ignored by design: ${countsText(m.ignored)}`);
  }
  lines.push(
    `journal: ${result.journal}${
      result.runId === null ? " (unchanged)" : ` (run ${result.runId})`
    }`,
  );
  return lines.join("\n");
}

function booksText(report: BooksReport): string {
  if (report.statements.length === 0) return "no statements to verify";
  const lines: string[] = [];
  for (const s of report.statements) {
    const verdict = {
      balanced: "balanced   ",
      differs: "DIFFERS    ",
      "not-checked": "not checked",
    };
    lines.push(
      `${verdict[s.outcome]} ${s.origin} [${s.accountId} ${s.fromDate ?? "?"}..${s.toDate ?? "?"}]`,
    );
    if (!s.cash) lines.push("  cash: no CashReport in the statement");
    else {
      lines.push(indent(table(
        ["currency", "start", "end", "IBKR moved", "mapped", "difference", ""],
        s.cash.map((c) => [
          c.basis ? `${c.currency} (${c.basis})` : c.currency,
          c.startingCash,
          c.endingCash,
          c.ibkr,
          c.mapped,
          c.difference,
          c.balanced ? "ok" : "DIFFERS",
        ]),
      )));
      for (const c of s.cash.filter((c) => !c.balanced)) {
        const named = c.categories.filter((k) =>
          k.difference !== "0" && k.ibkr !== "(not in report)"
        );
        for (const k of named) {
          lines.push(
            `    ${c.currency} ${k.category}: IBKR ${k.ibkr}, mapped ${k.mapped}, difference ${k.difference}`,
          );
        }
      }
    }
    if (!s.positions.checked) lines.push(`  positions: not checked (${s.positions.why})`);
    else {
      const off = s.positions.rows.filter((p) => !p.balanced);
      lines.push(
        `  positions: ${s.positions.rows.length - off.length}/${s.positions.rows.length} agree`,
      );
      for (const p of off) {
        lines.push(
          `    ${
            p.symbol ?? p.instrument
          }: start ${p.start} + mapped ${p.mappedChange} vs IBKR ${p.ibkrEnd}`,
        );
      }
    }
    for (const u of s.unresolved) lines.push(`  unresolved: ${u.key} ${u.reason}`);
    if (s.outcome === "differs" && Object.keys(s.skipped).length) {
      lines.push(`  skipped rows: ${countsText(s.skipped)}`);
    }
  }
  const { balanced, differs, notChecked } = report.counts;
  const total = report.statements.length;
  const unchecked = notChecked ? `, ${notChecked} not checked (nothing to compare)` : "";
  lines.push(
    differs
      ? `${differs} of ${total} statement(s) differ${unchecked}`
      : balanced === total
      ? `all ${total} statement(s) balance`
      : balanced === 0
      ? `nothing to compare: ${total} statement(s) not checked (no CashReport, positions' start unknown)`
      : `${balanced} of ${total} statement(s) balance${unchecked}`,
  );
  return lines.join("\n");
}

function statusText(r: StatusReport): string {
  if (!r.exists) return `journal: ${r.journal} (none yet: run backfill or fetch)`;
  const lines = [
    `journal: ${r.journal}`,
    `statements: ${r.statements.documents} document(s), ${r.statements.bytes} bytes${
      r.statements.refused ? ` (${r.statements.refused} refused: kept as received, not mapped)` : ""
    }`,
  ];
  for (const a of r.statements.accounts) {
    lines.push(
      `  ${a.accountId}: ${a.periods} period(s), ${a.fromDate ?? "?"} .. ${a.toDate ?? "?"}`,
    );
  }
  lines.push("activities:");
  lines.push(
    r.activities.length
      ? indent(
        table(["state", "type", "count"], r.activities.map((c) => [c.state, c.type, c.count])),
      )
      : "  none",
  );
  lines.push("skipped rows (review these):");
  lines.push(
    r.skipped.length
      ? indent(table(["reason", "count"], r.skipped.map((s) => [s.reason, s.count])))
      : "  none",
  );
  lines.push(`corrections owed to Wealthfolio: ${r.corrections.pending.length}`);
  for (const c of r.corrections.pending) {
    lines.push(`  ${c.action} ${c.targetKey} (${c.reason}, by ${c.cancelKey})`);
  }
  lines.push(`reversals awaiting their original: ${r.corrections.awaitingOriginal.length}`);
  for (const c of r.corrections.awaitingOriginal) {
    lines.push(`  ${c.key} (${c.reason}) → ${c.target}`);
  }
  lines.push(...reconciliationText(r));
  if (r.fetchWindows.length) {
    lines.push("Flex Web Service windows:");
    lines.push(indent(table(
      ["query", "state", "windows", "last day"],
      r.fetchWindows.map((w) => [w.queryId, w.state, w.count, w.lastToDate]),
    )));
  }
  lines.push("last runs:");
  lines.push(
    r.runs.length
      ? indent(
        table(
          ["id", "command", "started", "outcome", "exit"],
          r.runs.map((x) => [x.id, x.command, x.startedAt, x.outcome, x.exitCode]),
        ),
      )
      : "  none",
  );
  return lines.join("\n");
}

function reconciliationText(r: StatusReport): string[] {
  const lines = [
    `last successful sync: ${
      r.lastSuccessfulSync
        ? `${r.lastSuccessfulSync.finishedAt} (run ${r.lastSuccessfulSync.runId})`
        : "never"
    }`,
  ];
  const last = r.lastReconciliation;
  if (!last) return [...lines, "last reconciliation: never"];
  lines.push(`last reconciliation: ${last.reconciledAt} (run ${last.runId}, ${last.command})`);
  for (const a of last.accounts) {
    const drifts = a.positionDrifts + a.cashDrifts;
    lines.push(
      `  ${a.accountId} → ${a.wealthfolioAccountId} (statement to ${a.statementToDate ?? "?"}): ${
        drifts ? "DRIFT" : "agrees"
      }, ${a.positions - a.positionDrifts}/${a.positions} positions and ${
        a.currencies - a.cashDrifts
      }/${a.currencies} currencies agree`,
    );
    for (const d of a.drifts) {
      lines.push(
        `    ${d.kind} ${d.symbol}: IBKR ${d.brokerValue ?? "-"}, Wealthfolio ${
          d.wfValue ?? "-"
        }, drift ${d.drift} (${d.outcome})`,
      );
    }
  }
  return lines;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}
