/**
 * `deno task bench`: speed and memory of broker-sync on a large statement, against the targets
 * of the issue, written to docs/benchmarks.md.
 *
 * Generates a statement of 100,000 trades and 10,000 cash transactions (~130 MB) into a temporary
 * directory, then runs the CLI as a subprocess exactly as the binary runs (`deno run` with the
 * permission flags of scripts/permissions.ts) and measures:
 *
 * 1. `backfill FILE` into a fresh journal: wall time and peak RSS (five times);
 * 2. the same again into that journal, which must be a no-op (five times);
 * 3. `--help` (ten times, after one warm-up run so Deno's module cache is hot).
 *
 * Other engineers share the machine's two cores, so a slow run measures their load as much as
 * broker-sync: wall times are judged by the best run (medians are listed too), peak RSS by the
 * highest, and the load average before and after is recorded.
 *
 * Prints a table with PASS/FAIL per target, rewrites docs/benchmarks.md, and exits 1 if a
 * target is missed. Speed targets live here, never in timed unit tests.
 *
 * Options (for quick trials; the doc is written only for the standard sizes):
 * `--trades N`, `--cash N`, `--runs N`, `--help-runs N`, `--no-doc`, `--keep` (keep the temp dir),
 * `--rss-poll` (measure peak RSS by polling /proc even when GNU time is there).
 */
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";
import { type GeneratedStatement, generateStatement } from "./generate_statement.ts";

const STANDARD = { trades: 100_000, cash: 10_000 } as const;
const ACCOUNT = "U7654321";
const SEED = 20250101;
const POLL_MS = 20;
const GNU_TIME = "/usr/bin/time";
let forcePoll = false;
const DOC = new URL("../docs/benchmarks.md", import.meta.url);

/** The issue's targets (2-core machine). MB = 10^6 bytes. */
const TARGETS = {
  firstRunMs: 4_000,
  firstRunRssBytes: 200e6,
  noopMs: 1_000,
  helpMs: 150,
} as const;

interface Options {
  trades: number;
  cash: number;
  runs: number;
  helpRuns: number;
  doc: boolean;
  keep: boolean;
}

function parseOptions(args: readonly string[]): Options {
  const o: Options = {
    trades: STANDARD.trades,
    cash: STANDARD.cash,
    runs: 5,
    helpRuns: 10,
    doc: true,
    keep: false,
  };
  const count = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      console.error(`bench: ${name} needs an integer ≥ ${min}, got ${value}`);
      Deno.exit(2);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--trades") o.trades = count(arg, args[++i], 0);
    else if (arg === "--cash") o.cash = count(arg, args[++i], 0);
    else if (arg === "--runs") o.runs = count(arg, args[++i], 1);
    else if (arg === "--help-runs") o.helpRuns = count(arg, args[++i], 1);
    else if (arg === "--no-doc") o.doc = false;
    else if (arg === "--keep") o.keep = true;
    else if (arg === "--rss-poll") forcePoll = true;
    else {
      console.error(`bench: unknown option ${arg}`);
      Deno.exit(2);
    }
  }
  return o;
}

/** One CLI run as measured from the parent. */
interface Measured {
  readonly wallMs: number;
  /** Peak resident set size of the CLI process, bytes (null if it could not be read). */
  readonly peakRssBytes: number | null;
  /** CPU seconds of the CLI process (GNU time only). */
  readonly userS: number | null;
  readonly sysS: number | null;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const decoder = new TextDecoder();

async function hasGnuTime(): Promise<boolean> {
  try {
    const { stdout, stderr } = await new Deno.Command(GNU_TIME, {
      args: ["--version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return /GNU/.test(decoder.decode(stdout) + decoder.decode(stderr));
  } catch {
    return false;
  }
}

/**
 * Polls VmHWM (the kernel's peak-RSS high-water mark) of `pid` every POLL_MS while the process
 * lives and prints the highest value, kB. Deno reads nothing under /proc without --allow-all, so
 * a tiny shell loop does it (builtins only, apart from `sleep`).
 */
const POLLER = `pid=$1; peak=0
while [ -d /proc/$pid ]; do
  while read -r key value unit; do
    if [ "$key" = VmHWM: ] && [ "$value" -gt "$peak" ]; then peak=$value; fi
  done 2>/dev/null </proc/$pid/status
  sleep ${POLL_MS / 1000}
done
echo "$peak"`;

async function pollPeakRss(pid: number): Promise<number | null> {
  const { stdout } = await new Deno.Command("sh", {
    args: ["-c", POLLER, "poll", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const kb = Number(decoder.decode(stdout).trim());
  return kb > 0 ? kb * 1024 : null;
}

/**
 * Runs `broker-sync ARGS` the way the binary runs: `deno run PERMISSION_FLAGS src/main.ts`.
 * With `rss`, the peak RSS is taken from GNU time's wait4 rusage when /usr/bin/time is GNU time
 * (exact), else by polling VmHWM in /proc/<pid>/status every 20 ms while the process runs
 * (also with `--rss-poll`, to compare the two).
 */
async function runCli(
  args: readonly string[],
  o: { dataDir: string; rss: boolean; gnuTime: boolean; scratch: string },
): Promise<Measured> {
  const cli = [Deno.execPath(), "run", ...PERMISSION_FLAGS, ENTRY_POINT, "--data-dir", o.dataDir];
  const timeFile = `${o.scratch}/time.txt`;
  const wrapped = o.rss && o.gnuTime;
  const argv = wrapped ? [GNU_TIME, "-f", "%M %U %S", "-o", timeFile, ...cli] : cli;
  const started = performance.now();
  const child = new Deno.Command(argv[0], {
    args: [...argv.slice(1), ...args],
    env: { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const polling = o.rss && !wrapped ? pollPeakRss(child.pid) : Promise.resolve(null);
  const { code, stdout, stderr } = await child.output();
  const wallMs = performance.now() - started;
  let peakRssBytes = await polling;
  let userS: number | null = null;
  let sysS: number | null = null;
  if (wrapped) {
    const fields = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!.split(" ");
    const [maxKb, user, sys] = fields.map(Number);
    if (fields.length === 3 && [maxKb, user, sys].every(Number.isFinite)) {
      peakRssBytes = maxKb * 1024;
      userS = user;
      sysS = sys;
    }
    await Deno.remove(timeFile);
  }
  return {
    wallMs,
    peakRssBytes,
    userS,
    sysS,
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** The 1-, 5- and 15-minute load averages, or null without --allow-sys. */
function loadAverage(): string | null {
  try {
    return Deno.loadavg().map((n) => n.toFixed(2)).join(" / ");
  } catch {
    return null;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fail(message: string, run?: Measured): never {
  console.error(`bench: ${message}`);
  if (run) {
    console.error(
      `--- exit code ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`,
    );
  }
  throw new Error(message);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const millis = (ms: number) => `${Math.round(ms)} ms`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const thousands = (n: number) => n.toLocaleString("en-US");

interface Line {
  readonly name: string;
  readonly result: string;
  readonly target: string;
  readonly pass: boolean | null;
}

async function machine(): Promise<{ cpu: string; cores: number; memory: string; os: string }> {
  let cpu = "unknown";
  try {
    // Deno reads /proc only with --allow-all; cat can.
    const { stdout } = await new Deno.Command("cat", {
      args: ["/proc/cpuinfo"],
      stdout: "piped",
      stderr: "null",
    }).output();
    cpu = /^model name\s*:\s*(.+)$/m.exec(decoder.decode(stdout))?.[1].trim() ?? cpu;
  } catch { /* not Linux */ }
  let memory = "unknown";
  try {
    memory = `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`;
  } catch { /* no --allow-sys */ }
  let os = `${Deno.build.os} ${Deno.build.arch}`;
  try {
    os += ` (kernel ${Deno.osRelease()})`;
  } catch { /* no --allow-sys */ }
  return { cpu, cores: navigator.hardwareConcurrency, memory, os };
}

async function gitCommit(): Promise<string | null> {
  try {
    const { code, stdout } = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "null",
    }).output();
    return code === 0 ? decoder.decode(stdout).trim() : null;
  } catch {
    return null;
  }
}

function table(lines: readonly Line[]): string {
  const rows = [
    ["measurement", "result", "target", ""],
    ...lines.map((
      l,
    ) => [l.name, l.result, l.target, l.pass === null ? "" : l.pass ? "PASS" : "FAIL"]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

function markdownTable(lines: readonly Line[]): string {
  return [
    "| measurement | result | target | |",
    "| --- | --- | --- | --- |",
    ...lines.map((l) =>
      `| ${l.name} | ${l.result} | ${l.target} | ${
        l.pass === null ? "" : l.pass ? "PASS" : "**FAIL**"
      } |`
    ),
  ].join("\n");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const gnuTime = !forcePoll && await hasGnuTime();
  const host = await machine();
  console.log(
    `machine: ${host.cores} × ${host.cpu}, ${host.memory}, ${host.os}; deno ${Deno.version.deno}`,
  );
  const loadBefore = loadAverage();
  const root = await Deno.makeTempDir({ prefix: "broker-sync-bench-" });
  try {
    // The statement.
    const statementPath = `${root}/statement.xml`;
    const genStart = performance.now();
    const statement = await generateStatement(statementPath, {
      trades: options.trades,
      cashTransactions: options.cash,
      accountId: ACCOUNT,
      seed: SEED,
    });
    const genMs = performance.now() - genStart;
    console.log(
      `statement: ${megabytes(statement.bytes)}, ${thousands(statement.rows.Trade ?? 0)} trades, ` +
        `${thousands(statement.rows.CashTransaction ?? 0)} cash transactions ` +
        `(generated in ${seconds(genMs)})`,
    );

    // Warm-up: the first `deno run` of the entry point fills Deno's module cache.
    const scratch = `${root}/scratch`;
    await Deno.mkdir(scratch);
    const warm = await runCli(["--help"], {
      dataDir: `${root}/help`,
      rss: false,
      gnuTime,
      scratch,
    });
    if (warm.code !== 0) fail("warm-up --help failed", warm);

    const first: Measured[] = [];
    const noop: Measured[] = [];
    let journaled: number | null = null;
    let journalBytes = 0;
    for (let i = 1; i <= options.runs; i++) {
      const dataDir = `${root}/journal-${i}`;
      const run = await runCli(["backfill", statementPath], {
        dataDir,
        rss: true,
        gnuTime,
        scratch,
      });
      if (run.code !== 0 || !run.stdout.includes(": journaled [")) {
        fail(`backfill run ${i} did not journal the statement`, run);
      }
      const n = Number(/activities journaled: (\d+)/.exec(run.stdout)?.[1]);
      if (!(n > 0) || (journaled !== null && n !== journaled)) {
        fail(`backfill run ${i} journaled ${n} activities (expected ${journaled ?? "> 0"})`, run);
      }
      journaled = n;
      first.push(run);
      journalBytes = await directoryBytes(dataDir);
      console.log(
        `backfill ${i}/${options.runs} (fresh journal): ${seconds(run.wallMs)}, ` +
          `peak RSS ${run.peakRssBytes === null ? "?" : megabytes(run.peakRssBytes)}`,
      );

      const again = await runCli(["backfill", statementPath], {
        dataDir,
        rss: true,
        gnuTime,
        scratch,
      });
      if (again.code !== 0 || !again.stdout.includes("already journaled")) {
        fail(`backfill run ${i} again was not a no-op ("already journaled")`, again);
      }
      noop.push(again);
      console.log(
        `backfill ${i}/${options.runs} again (no-op): ${seconds(again.wallMs)}, ` +
          `peak RSS ${again.peakRssBytes === null ? "?" : megabytes(again.peakRssBytes)}`,
      );
      await Deno.remove(dataDir, { recursive: true });
    }

    const help: number[] = [];
    for (let i = 0; i < options.helpRuns; i++) {
      const run = await runCli(["--help"], {
        dataDir: `${root}/help`,
        rss: false,
        gnuTime,
        scratch,
      });
      if (run.code !== 0 || !run.stdout.includes("backfill")) fail("--help failed", run);
      help.push(run.wallMs);
    }
    console.log(`--help ×${options.helpRuns}: ${help.map((ms) => Math.round(ms)).join(", ")} ms`);

    const loadAfter = loadAverage();
    const firstMs = Math.min(...first.map((r) => r.wallMs));
    const rss = first.map((r) => r.peakRssBytes);
    const firstRss = rss.every((b): b is number => b !== null) ? Math.max(...rss) : null;
    const noopMs = Math.min(...noop.map((r) => r.wallMs));
    const helpMs = Math.min(...help);
    const n = options.runs;
    const lines: Line[] = [
      {
        name: `backfill, fresh journal: wall time (best of ${n})`,
        result: seconds(firstMs),
        target: "≤ 4 s",
        pass: firstMs <= TARGETS.firstRunMs,
      },
      {
        name: `backfill, fresh journal: peak RSS (highest of ${n})`,
        result: firstRss === null ? "not measured" : megabytes(firstRss),
        target: "≤ 200 MB",
        pass: firstRss !== null && firstRss <= TARGETS.firstRunRssBytes,
      },
      {
        name: `backfill again, no-op: wall time (best of ${n})`,
        result: seconds(noopMs),
        target: "≤ 1 s",
        pass: noopMs <= TARGETS.noopMs,
      },
      {
        name: `--help: wall time (best of ${options.helpRuns})`,
        result: millis(helpMs),
        target: "≤ 150 ms",
        pass: helpMs <= TARGETS.helpMs,
      },
    ];
    console.log(`\n${table(lines)}`);

    const standard = options.trades === STANDARD.trades && options.cash === STANDARD.cash;
    if (options.doc && standard) {
      await writeDoc({
        host,
        commit: await gitCommit(),
        statement,
        genMs,
        lines,
        first,
        noop,
        help,
        journaled: journaled ?? 0,
        journalBytes,
        gnuTime,
        load: { before: loadBefore, after: loadAfter },
      });
      console.log(`\nwrote ${DOC.pathname}`);
    } else if (options.doc) {
      console.log("\ndocs/benchmarks.md not written: only the standard sizes are recorded");
    }
    const missed = lines.filter((l) => l.pass === false).length;
    if (missed) console.error(`\nbench: ${missed} target(s) missed`);
    return missed ? 1 : 0;
  } finally {
    if (options.keep) console.log(`kept ${root}`);
    else await Deno.remove(root, { recursive: true });
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) total += (await Deno.stat(`${dir}/${entry.name}`)).size;
  }
  return total;
}

async function writeDoc(r: {
  host: Awaited<ReturnType<typeof machine>>;
  commit: string | null;
  statement: GeneratedStatement;
  genMs: number;
  lines: readonly Line[];
  first: readonly Measured[];
  noop: readonly Measured[];
  help: readonly number[];
  journaled: number;
  journalBytes: number;
  gnuTime: boolean;
  load: { before: string | null; after: string | null };
}): Promise<void> {
  const rows = r.statement.rows;
  const each = (runs: readonly Measured[]) =>
    runs.map((m) =>
      `${seconds(m.wallMs)} / ${m.peakRssBytes === null ? "?" : megabytes(m.peakRssBytes)}${
        m.userS === null ? "" : ` / ${m.userS.toFixed(2)} s user + ${m.sysS?.toFixed(2)} s sys`
      }`
    ).join("; ");
  const rssMethod = r.gnuTime
    ? "the child's maximum resident set size as reported by GNU time (`/usr/bin/time -f %M`, " +
      "from the kernel's `wait4` rusage), which also gives its user and system CPU time"
    : `\`VmHWM\` (the kernel's peak-RSS high-water mark) read from \`/proc/<pid>/status\` every ${POLL_MS} ms while the child runs`;
  const text = `# Benchmarks

Measured by \`deno task bench\` (\`scripts/bench.ts\`), which rewrites this file; re-run it after a
change that may affect speed or memory. MB = 10^6 bytes.

- date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${
    r.commit ? `, at commit \`${r.commit}\` (plus any uncommitted changes)` : ""
  }
- machine: ${r.host.cores} CPUs (nproc), ${r.host.cpu}, ${r.host.memory} memory, ${r.host.os}
- load average (1 / 5 / 15 min), shared with other work: ${r.load.before ?? "?"} before, ${
    r.load.after ?? "?"
  } after the runs
- deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})
- statement: ${megabytes(r.statement.bytes)} (${r.statement.bytes} bytes), one account, ${
    r.statement.fromDate.slice(0, 4)
  }: ${thousands(rows.Trade ?? 0)} \`Trade\` EXECUTION rows (${
    thousands(r.statement.securityTrades)
  } stock/ETF, ${thousands(r.statement.fxTrades)} FX), ${
    thousands(rows.Order ?? 0)
  } \`Order\` rows, ${thousands(rows.CashTransaction ?? 0)} \`CashTransaction\` rows, ${
    thousands(rows.OpenPosition ?? 0)
  } \`OpenPosition\` and ${
    thousands(rows.CashReportCurrency ?? 0)
  } \`CashReportCurrency\` rows; generated in ${seconds(r.genMs)}
- journal after the first run: ${thousands(r.journaled)} activities journaled, ${
    megabytes(r.journalBytes)
  } on disk (SQLite file and WAL)

## Results

Targets are the issue's, for a 2-core machine.

${markdownTable(r.lines)}

Each run (wall time / peak RSS${r.gnuTime ? " / CPU time" : ""}), and the median wall time:

- backfill into a fresh journal: ${each(r.first)}; median ${
    seconds(median(r.first.map((m) => m.wallMs)))
  }
- backfill again (no-op): ${each(r.noop)}; median ${seconds(median(r.noop.map((m) => m.wallMs)))}
- \`--help\`: ${r.help.map((ms) => Math.round(ms)).join(", ")} ms; median ${millis(median(r.help))}

## How measured

- \`scripts/generate_statement.ts\` writes the statement (seed ${SEED}, account ${ACCOUNT}) into a
  temporary directory: realistic Flex rows (about 60 attributes per trade, NASDAQ/NYSE/LSEETF/
  LSE/IBIS2/TSE listings in USD, GBP, EUR and CAD, buys and sells, some commissions in another
  currency, FX conversions, \`Order\` rows for orders filled in several executions; dividends with
  withholding tax, broker interest, fees, deposits and withdrawals).
- Every measurement runs the CLI as a subprocess exactly as the binary runs: \`deno run\` with the
  permission flags of \`scripts/permissions.ts\` on \`src/main.ts\`, \`--data-dir\` in the temporary
  directory, \`IBKR_ACCOUNT_ID_UPSTREAM=${ACCOUNT}\`. The times therefore include Deno's startup
  and loading the TypeScript modules. One warm-up \`--help\` run comes first so Deno's module cache
  is hot, as it is for an installed binary; nothing else is warmed (the OS page cache holds the
  statement, which was just written).
- Wall time is measured by the parent from spawn to exit. Peak RSS is ${rssMethod}.
- "Fresh journal" is a new data directory each time; "no-op" backfills the same file into the
  journal just written, and the bench checks the CLI says "already journaled". That pair runs
  ${r.first.length} times; \`--help\` runs ${r.help.length} times.
- Other engineers share the machine's two cores, so a slow run measures their load as much as
  broker-sync: wall times are judged by the best run, peak RSS by the highest.
- The bench exits non-zero when a target is missed.
`;
  await Deno.mkdir(new URL(".", DOC), { recursive: true });
  await Deno.writeTextFile(DOC, text + (await handWrittenFindings()));
  // Leave the file as `deno fmt` wants it, so `deno fmt --check` stays green.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", DOC.pathname],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "null",
    stderr: "null",
  }).output();
}

/** The hand-written part of the doc (from FINDINGS to the end), kept across re-runs. */
const FINDINGS = "## Findings and next steps";

async function handWrittenFindings(): Promise<string> {
  try {
    const old = await Deno.readTextFile(DOC);
    const at = old.indexOf(FINDINGS);
    return at < 0 ? "" : `\n${old.slice(at)}`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    code = 1;
  }
  Deno.exit(code);
}
