/**
 * The Flex Web Service commands' wiring: configuration in, a client on the real clock, the use
 * case run with its logs and progress bar, results out. Loaded only when such a command runs.
 */
import type {
  FlexWindowsRequest,
  FlexWindowsResult,
  StatementSource,
  WindowResult,
} from "../app/flex_windows.ts";
import type { MappingSummary } from "../app/map_statement.ts";
import type { TokenReport } from "../app/verify_token.ts";
import type { IsoDate } from "../flex/dates.ts";
import { IBKR_RATE_LIMIT, systemClock, TokenRateLimiter } from "../flex/pacing.ts";
import {
  DEFAULT_SCHEDULE,
  type FlexEvent,
  FlexServiceClient,
  type TokenVerdict,
} from "../flex/service_client.ts";
import { newYorkDate, windowText } from "../flex/windows.ts";
import type { Config } from "./config.ts";
import { EXIT, type ExitCode } from "./exit_codes.ts";
import { classify } from "./failure.ts";
import { type FlexConfig, loadFlexConfig, readTokenFile, tokenExpiry } from "./flex_config.ts";
import { logger } from "./logging.ts";
import { countsText, print, printJson } from "./output.ts";
import { type WindowProgress, windowProgress } from "./progress.ts";

type Env = (name: string) => string | undefined;

const env: Env = (name) => Deno.env.get(name);

/** One limiter for the whole process: every client and window shares the token's budget. */
const limiter = new TokenRateLimiter(systemClock, IBKR_RATE_LIMIT);

/**
 * A client for the configured token and query, on the real clock, logging what it does and
 * telling `observe` too (`sync` counts the error codes IBKR answers).
 */
export function flexClient(
  config: FlexConfig,
  observe?: (event: FlexEvent) => void,
): FlexServiceClient {
  const pollMs = config.pollSeconds * 1000;
  return new FlexServiceClient(
    {
      token: config.token,
      queryId: config.queryId,
      baseUrl: config.baseUrl,
      userAgent: config.userAgent,
    },
    {
      clock: systemClock,
      limiter,
      random: Math.random,
      onEvent: (event) => {
        logEvent(event);
        observe?.(event);
      },
    },
    {
      ...DEFAULT_SCHEDULE,
      firstPollMs: pollMs,
      backoff: { ...DEFAULT_SCHEDULE.backoff, baseMs: pollMs },
    },
  );
}

function logEvent(event: FlexEvent): void {
  const log = logger("flex");
  switch (event.kind) {
    case "call":
      log.debug(`${event.endpoint} ${event.url}`);
      return;
    case "answer":
      log.debug(`${event.endpoint} answered ${event.answer}`);
      return;
    case "wait":
      log.info(`waiting ${(event.ms / 1000).toFixed(1)} s: ${event.why}`);
      return;
    case "restart":
      log.info(`starting again from SendRequest: ${event.why}`);
      return;
    case "url-refused":
      log.warn(
        `SendRequest named a GetStatement URL on ${event.host}, which is neither https on ` +
          `interactivebrokers.com nor the configured endpoint; asking ${event.using} instead ` +
          `(the token is sent nowhere else)`,
      );
  }
}

/** Today's date where IBKR keeps its books. */
export function today(): IsoDate {
  return newYorkDate(new Date());
}

/** A windows run's progress bar (on a terminal) or log lines. */
export interface WindowsRun {
  readonly progress: WindowProgress;
  readonly onPlan: (windows: readonly { from: string; to: string }[]) => void;
  readonly onWindow: (result: WindowResult, index: number, total: number) => void;
}

function windowsRun(json: boolean, part: string): WindowsRun {
  const progress = windowProgress({ json });
  const log = logger(part);
  return {
    progress,
    onPlan: (windows) => {
      if (!progress.visible) {
        log.info(
          windows.length === 0
            ? "no window left to fetch"
            : `${windows.length} window(s): ${windows.map(windowText).join(", ")}`,
        );
      }
      progress.start(windows.length);
    },
    onWindow: (result, index, total) => {
      const text = `${result.fromDate}..${result.toDate}`;
      progress.advance(text);
      if (!progress.visible) log.info(`${index + 1}/${total} ${text}: ${result.outcome}`);
    },
  };
}

/** What every windows run of the configured query is given, whatever its windows. */
type SharedWindowsRequest = Omit<FlexWindowsRequest, "plan" | "skipFetched" | "command">;

/**
 * Runs a windows use case (fetch, backfill) on the configured query and accounts, the real clock
 * and the CLI's exit codes, with its progress shown as `part` until it ends.
 */
export async function inWindowsRun<T>(
  json: boolean,
  part: string,
  config: Config,
  flex: FlexConfig,
  source: StatementSource,
  start: (shared: SharedWindowsRequest) => Promise<T>,
): Promise<T> {
  const run = windowsRun(json, part);
  try {
    return await start({
      dataDir: config.dataDir,
      queryId: flex.queryId,
      accounts: config.accounts,
      accountsSource: config.accountsSource,
      source,
      now: () => new Date(),
      exitCodeOf: (e) => classify(e).code,
      onPlan: run.onPlan,
      onWindow: run.onWindow,
    });
  } finally {
    run.progress.stop();
  }
}

/** `fetch`. */
export async function fetchAction(
  config: Config,
  flags: { from?: string; to?: string; overlap?: number },
  json: boolean,
): Promise<void> {
  const flex = loadFlexConfig(env);
  warnWithoutGuard(config, "fetch");
  const { fetchStatements, DEFAULT_OVERLAP_DAYS } = await import("../app/fetch.ts");
  const window = {
    from: flags.from,
    to: flags.to,
    overlapDays: flags.overlap ?? DEFAULT_OVERLAP_DAYS,
    today: today(),
  };
  const result = await inWindowsRun(
    json,
    "fetch",
    config,
    flex,
    flexClient(flex),
    (shared) => fetchStatements({ ...shared, window }),
  );
  if (json) printJson(result);
  else print(windowsText(result));
}

/** Checks what `backfill --from` needs before anything runs (so files are not half done). */
export function backfillServiceConfig(config: Config): FlexConfig {
  const flex = loadFlexConfig(env);
  warnWithoutGuard(config, "backfill");
  return flex;
}

/** `backfill --from D [--to D]`: the service half. */
export async function backfillServiceAction(
  config: Config,
  flex: FlexConfig,
  flags: { from: string; to?: string },
  json: boolean,
): Promise<FlexWindowsResult> {
  const { backfillWindows } = await import("../app/backfill_windows.ts");
  return await inWindowsRun(
    json,
    "backfill",
    config,
    flex,
    flexClient(flex),
    (shared) => backfillWindows({ ...shared, from: flags.from, to: flags.to, today: today() }),
  );
}

export function warnWithoutGuard(config: Config, part: string): void {
  if (config.accounts.length === 0) {
    logger(part).warn(
      "no account guard configured (IBKR_ACCOUNT_ID_UPSTREAM or --account): accepting any account",
    );
  }
}

const VERDICT_EXIT: Readonly<Record<TokenVerdict, ExitCode>> = {
  "valid": EXIT.OK,
  "expired": EXIT.FLEX_TOKEN_EXPIRED,
  "invalid": EXIT.FLEX_TOKEN_INVALID,
  "ip-restricted": EXIT.FLEX_IP_RESTRICTED,
  "service-inactive": EXIT.FLEX_SERVICE_INACTIVE,
  "query-invalid": EXIT.FLEX_QUERY_INVALID,
  "account-invalid": EXIT.FLEX_ACCOUNT_INVALID,
  "undetermined": EXIT.FLEX_UNREACHABLE,
  "unreachable": EXIT.FLEX_UNREACHABLE,
  "refused": EXIT.FLEX_REFUSED,
};

/** The exit code of a token check. */
export function tokenExitCode(report: TokenReport): ExitCode {
  if (report.verdict === "valid" && report.expiringSoon) return EXIT.FLEX_TOKEN_EXPIRING;
  return VERDICT_EXIT[report.verdict];
}

/** `verify-token`; returns the exit code. */
export async function verifyTokenAction(
  config: Config,
  flags: { tokenFile?: string; expiresOn?: string; warnDays?: number },
  json: boolean,
): Promise<ExitCode> {
  const fromFile = flags.tokenFile !== undefined ? await readTokenFile(flags.tokenFile) : undefined;
  const flex = loadFlexConfig(env, fromFile);
  const expiresOn = tokenExpiry(env, flags.expiresOn);
  const { verifyToken, recordTokenCheck, DEFAULT_WARN_DAYS } = await import(
    "../app/verify_token.ts"
  );
  const report = await verifyToken({
    token: flex.token,
    checker: flexClient(flex),
    expiresOn,
    warnDays: flags.warnDays ?? DEFAULT_WARN_DAYS,
    today: today(),
  });
  const exitCode = tokenExitCode(report);
  const recorded = recordTokenCheck(config.dataDir, report, exitCode, () => new Date());
  if (json) printJson({ ...report, queryId: flex.queryId, exitCode, recorded });
  else print(tokenText(report, flex.queryId));
  return exitCode;
}

function tokenText(r: TokenReport, queryId: string): string {
  const who = `token ${r.token ?? "(too short to show)"}`;
  const ibkr = r.code !== null ? `IBKR ${r.code}${r.ibkrMessage ? ` "${r.ibkrMessage}"` : ""}` : "";
  const because = [ibkr, r.detail].filter(Boolean).join(": ");
  if (r.verdict !== "valid") return `${who}: ${r.verdict} — ${because}`;
  const lines = [`${who}: valid (IBKR accepted it for query ${queryId})`];
  if (r.expiresOn !== null && r.daysLeft !== null) {
    const left = r.daysLeft < 0
      ? `${-r.daysLeft} day(s) ago, yet IBKR still accepts it: correct the expiry date`
      : `${r.daysLeft} day(s) left`;
    lines.push(
      `expires ${r.expiresOn}: ${left}${
        r.expiringSoon
          ? ` — fewer than ${r.warnDays}: generate a new token and check it with ` +
            "`broker-sync verify-token --token-file -` before it replaces this one"
          : ""
      }`,
    );
  } else {
    lines.push(
      "expiry unknown: pass --expires-on DATE or set IBKR_FLEX_TOKEN_EXPIRES to be warned",
    );
  }
  return lines.join("\n");
}

/** Human text of a windows run. */
export function windowsText(result: FlexWindowsResult): string {
  const lines: string[] = [];
  if (result.windows.length === 0) lines.push("no window left to fetch: everything was fetched");
  for (const w of result.windows) {
    const calls = w.calls ? `, ${w.calls} call(s)` : "";
    lines.push(`Flex query ${result.queryId} ${w.fromDate}..${w.toDate}: ${w.outcome}${calls}`);
    if (w.mapping) lines.push(...mappingLines(w.mapping));
  }
  lines.push(`journal: ${result.journal} (run ${result.runId})`);
  return lines.join("\n");
}

function mappingLines(m: MappingSummary): string[] {
  const periods = m.statements.map((s) => `${s.accountId} ${s.fromDate ?? "?"}..${s.toDate ?? "?"}`)
    .join("; ");
  const journaled = Object.values(m.journaled).reduce((a, b) => a + b, 0);
  const skipped = Object.values(m.skipped).reduce((a, b) => a + b, 0);
  const lines = [
    `  statements: ${periods}`,
    `  activities journaled: ${journaled}${journaled ? ` (${countsText(m.journaled)})` : ""}`,
    `  rows skipped: ${skipped}${skipped ? ` (${countsText(m.skipped)})` : ""}`,
  ];
  if (m.unchanged) lines.push(`  already in the journal: ${m.unchanged}`);
  return lines;
}
