/**
 * What the Flex Web Service CLI tests share: a stand-in serving the bundled sample statement
 * for whatever window is asked, the environment pointing the CLI at it, a CLI run that fails
 * the test if the token shows up anywhere, and read access to the journal.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  dashed,
  defaultStatement,
  type FlexStandIn,
  type FlexStandInOptions,
  type FlexStatementRequest,
  startFlexStandIn,
} from "../standins/flex_service.ts";
import {
  type CliOptions,
  type CliResult,
  FIXTURE,
  journalFile,
  runCli,
  showRun,
} from "./run_cli.ts";

export const TOKEN = "836154927305618293746502";
export const QUERY = "987654";
export const ACCOUNT = "U1234567";

const fixture = Deno.readTextFileSync(FIXTURE);

/** The bundled sample statement, as IBKR would send it for the requested window. */
export function sampleStatementFor(req: FlexStatementRequest, account = ACCOUNT): string {
  assert.ok(req.fd && req.td, "the client always sends fd/td");
  return fixture
    .replace(
      /fromDate="[^"]*" toDate="[^"]*"/,
      `fromDate="${dashed(req.fd)}" toDate="${dashed(req.td)}"`,
    )
    .replaceAll(`"${ACCOUNT}"`, `"${account}"`);
}

/** IBKR's v3 quirk: a one-day statement (the window's last day) whatever was asked. */
export function oneDayStatementFor(req: FlexStatementRequest): string {
  return defaultStatement({ ...req, fd: req.td, td: req.td });
}

/**
 * A stand-in serving the sample statement. Its rate limit is off unless a test asks for it:
 * consecutive CLI processes do not share a limiter, and the limit is tested where it matters.
 */
export async function sampleFlex(options: Partial<FlexStandInOptions> = {}): Promise<FlexStandIn> {
  const flex = await startFlexStandIn({
    token: TOKEN,
    queryId: QUERY,
    minIntervalMs: 0,
    rateLimitPerMinute: 1_000_000,
    ...options,
  });
  flex.setStatement((req) => sampleStatementFor(req));
  return flex;
}

/** The environment a CronJob would give the CLI, pointed at the stand-in. */
export function flexEnv(flex: { baseUrl: string }, extra: Record<string, string> = {}) {
  return {
    IBKR_FLEX_TOKEN: TOKEN,
    IBKR_FLEX_QUERY_ID: QUERY,
    IBKR_FLEX_BASE_URL: flex.baseUrl,
    IBKR_FLEX_POLL_SECONDS: "0",
    IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT,
    ...extra,
  };
}

/** Runs the CLI and fails if a secret appears in its stdout or stderr. */
export async function runFlexCli(
  args: readonly string[],
  options: CliOptions & { secrets?: readonly string[] } = {},
): Promise<CliResult> {
  const result = await runCli(args, options);
  for (const secret of [TOKEN, ...(options.secrets ?? [])]) {
    assert.ok(!result.stdout.includes(secret), `a token in stdout:\n${showRun(result)}`);
    assert.ok(!result.stderr.includes(secret), `a token in stderr:\n${showRun(result)}`);
  }
  return result;
}

/** Fails if the token's bytes are anywhere in the journal's files. */
export async function assertNoTokenInJournal(dataDir: string): Promise<void> {
  for (const suffix of ["", "-wal"]) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${journalFile(dataDir)}${suffix}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    const text = new TextDecoder("latin1").decode(bytes);
    assert.ok(!text.includes(TOKEN), `the token is in the journal${suffix}`);
  }
}

/** Reads the journal (read-only) for assertions. */
export function readJournal<T>(dataDir: string, read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(journalFile(dataDir), { readOnly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export interface WindowRow {
  from_date: string;
  to_date: string;
  state: string;
  statement_id: number | null;
  calls: number;
  error: string | null;
  command: string;
}

/** The fetch_windows rows, oldest window first. */
export function windowRows(dataDir: string): WindowRow[] {
  return readJournal(dataDir, (db) =>
    db.prepare(
      "SELECT from_date, to_date, state, statement_id, calls, error, command FROM fetch_windows ORDER BY from_date",
    ).all() as unknown as WindowRow[]);
}

/** Counts rows of a table. */
export function countRows(dataDir: string, table: string, where = "1"): number {
  return readJournal(
    dataDir,
    (db) =>
      Number(
        (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n,
      ),
  );
}

/** `fd`..`td` of each SendRequest the stand-in received. */
export function requestedWindows(flex: FlexStandIn): string[] {
  return flex.calls.filter((c) => c.endpoint === "SendRequest").map((c) =>
    `${dashed(c.params.fd ?? "")}..${dashed(c.params.td ?? "")}`
  );
}

/** Today in New York, as the CLI computes it. */
export function newYorkToday(): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: "America/New_York",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(new Date());
}

/** `date` ± days. */
export function shiftDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** A loopback port nothing listens on. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
