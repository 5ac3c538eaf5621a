/**
 * `deno task bench-push`: how fast the Wealthfolio push is, against the issue's targets, written
 * to its own section of docs/benchmarks.md (after the hand-written findings, which
 * `deno task bench` keeps when it rewrites the rest).
 *
 * Generates a statement that maps to at least 10,000 activities, journals it once (`backfill
 * --no-push`), then, three times, each with a copy of that journal and a fresh loopback
 * Wealthfolio stand-in (tests/standins/wealthfolio.ts, in this process):
 *
 * 1. `import` of everything: wall time (target ≤ 10 s);
 * 2. `import` again, nothing new: wall time (target ≤ 1 s) and requests made;
 * 3. `import` from a fresh copy of the journal (a lost journal): wall time, and `check-duplicates`
 *    calls against the bulk chunks of step 1 (target: at most one per chunk), nothing created.
 *
 * The CLI runs as a subprocess exactly as the binary runs (`deno run` with the permission flags
 * of scripts/permissions.ts). Options: `--runs N`, `--no-doc`.
 */
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../tests/standins/wealthfolio.ts";
import { generateStatement } from "./generate_statement.ts";
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";

const ACCOUNT = "U7654321";
const SEED = 20250101;
const SIZES = { trades: 7_700, cash: 1_300 } as const;
const TARGETS = { activities: 10_000, firstMs: 10_000, noopMs: 1_000 } as const;
const PASSWORD = "bench-password";
const DOC = new URL("../docs/benchmarks.md", import.meta.url);
const HEADING = "## Push to Wealthfolio";
const decoder = new TextDecoder();

interface Run {
  readonly ms: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(args: string[], dataDir: string, env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, ENTRY_POINT, "--data-dir", dataDir, ...args],
    env: { IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ms: performance.now() - started,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

function must(run: Run, what: string): Run {
  if (run.code !== 0) {
    throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

async function copyJournal(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.name.startsWith("broker-sync.sqlite")) {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}

function count(wf: WealthfolioStandIn, from: number, path: string): number {
  return wf.requests.slice(from).filter((r) => r.path === `/api/v1${path}`).length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Trial {
  first: Run;
  noop: Run;
  noopRequests: number;
  lost: Run;
  bulkChunks: number;
  bulkBytesMax: number;
  lostChecks: number;
  lostBulk: number;
  created: number;
}

async function trial(template: string, root: string, i: number): Promise<Trial> {
  const wf = await startWealthfolioStandIn({ password: PASSWORD });
  try {
    const account = wf.addAccount({ name: "IBKR", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const env = { WF_BASE_URL: wf.baseUrl, WF_PASSWORD: PASSWORD, IBKR_ACCOUNT_ID: account.id };
    const dataDir = `${root}/trial-${i}`;
    await copyJournal(template, dataDir);
    const first = must(await cli(["import"], dataDir, env), "import");
    const bulk = wf.requests.filter((r) => r.path === "/api/v1/activities/bulk");
    const created = wf.state.activities.length;
    const before = wf.requests.length;
    const noop = must(await cli(["import"], dataDir, env), "import again");
    const noopRequests = wf.requests.length - before;
    const lostDir = `${root}/trial-${i}-lost`;
    await copyJournal(template, lostDir);
    const mark = wf.requests.length;
    const lost = must(await cli(["import"], lostDir, env), "import with a lost journal");
    if (wf.state.activities.length !== created) {
      throw new Error("the lost-journal run created activities");
    }
    return {
      first,
      noop,
      noopRequests,
      lost,
      bulkChunks: bulk.length,
      bulkBytesMax: Math.max(...bulk.map((r) => r.bodyBytes)),
      lostChecks: count(wf, mark, "/activities/import/check-duplicates"),
      lostBulk: count(wf, mark, "/activities/bulk"),
      created,
    };
  } finally {
    await wf.close();
  }
}

async function main(): Promise<number> {
  const args = Deno.args;
  const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 3;
  const writeDoc = !args.includes("--no-doc");
  const root = await Deno.makeTempDir({ prefix: "broker-sync-bench-push-" });
  try {
    const statement = await generateStatement(`${root}/statement.xml`, {
      trades: SIZES.trades,
      cashTransactions: SIZES.cash,
      accountId: ACCOUNT,
      seed: SEED,
    });
    const template = `${root}/template`;
    must(await cli(["--help"], template, {}), "warm-up");
    must(await cli(["backfill", "--no-push", statement.path], template, {}), "backfill");
    const status = JSON.parse(must(await cli(["--json", "status"], template, {}), "status").stdout);
    const pending = (status.activities as { state: string; count: number }[])
      .filter((a) => a.state === "pending").reduce((n, a) => n + a.count, 0);
    console.log(`statement: ${statement.bytes} bytes, ${pending} activities to push`);
    if (pending < TARGETS.activities) throw new Error(`only ${pending} activities`);

    const trials: Trial[] = [];
    for (let i = 1; i <= runs; i++) {
      const t = await trial(template, root, i);
      if (t.created !== pending) throw new Error(`created ${t.created} of ${pending}`);
      trials.push(t);
      console.log(
        `run ${i}: push ${
          seconds(t.first.ms)
        } (${t.bulkChunks} bulk calls, largest ${t.bulkBytesMax} bytes); ` +
          `again ${seconds(t.noop.ms)} (${t.noopRequests} requests); lost journal ${
            seconds(t.lost.ms)
          } (${t.lostChecks} check-duplicates, ${t.lostBulk} bulk)`,
      );
    }
    const firstMs = median(trials.map((t) => t.first.ms));
    const noopMs = median(trials.map((t) => t.noop.ms));
    const lostMs = median(trials.map((t) => t.lost.ms));
    const checksOk = trials.every((t) => t.lostChecks <= t.bulkChunks && t.lostBulk === 0);
    const rows = [
      [
        `push ${pending.toLocaleString("en-US")} new activities: wall time (median of ${runs})`,
        seconds(firstMs),
        "≤ 10 s",
        firstMs <= TARGETS.firstMs,
      ],
      [
        `re-run, nothing new: wall time (median of ${runs})`,
        seconds(noopMs),
        "≤ 1 s",
        noopMs <= TARGETS.noopMs,
      ],
      [
        "re-run, nothing new: requests to Wealthfolio",
        String(Math.max(...trials.map((t) => t.noopRequests))),
        "≤ 1 check-duplicates per chunk",
        trials.every((t) => t.noopRequests <= t.bulkChunks),
      ],
      [
        `lost journal, everything already there: wall time (median of ${runs})`,
        seconds(lostMs),
        "",
        null,
      ],
      [
        "lost journal: check-duplicates calls / bulk chunks of the push",
        `${trials[0].lostChecks} / ${trials[0].bulkChunks} (bulk calls: ${trials[0].lostBulk})`,
        "≤ 1 per chunk, no bulk",
        checksOk,
      ],
    ] as const;
    const table = [
      "| measurement | result | target | |",
      "| --- | --- | --- | --- |",
      ...rows.map(([name, result, target, pass]) =>
        `| ${name} | ${result} | ${target} | ${pass === null ? "" : pass ? "PASS" : "**FAIL**"} |`
      ),
    ].join("\n");
    console.log(`\n${table}`);
    if (writeDoc) await writeSection(table, trials, pending, statement.bytes, runs);
    return rows.some(([, , , pass]) => pass === false) ? 1 : 0;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function writeSection(
  table: string,
  trials: readonly Trial[],
  activities: number,
  bytes: number,
  runs: number,
): Promise<void> {
  const t = trials[0];
  const section = `${HEADING}

Measured by \`deno task bench-push\` (\`scripts/bench_push.ts\`), which rewrites this section only.

- date: ${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC; ${navigator.hardwareConcurrency} CPUs; deno ${Deno.version.deno}
- statement: generated (seed ${SEED}, ${SIZES.trades.toLocaleString("en-US")} trades, ${
    SIZES.cash.toLocaleString("en-US")
  } cash transactions, ${(bytes / 1e6).toFixed(1)} MB), journaled once: ${
    activities.toLocaleString("en-US")
  } pending activities
- Wealthfolio: the loopback stand-in (\`tests/standins/wealthfolio.ts\`) in the bench's process,
  with a password, over real HTTP; a fresh one and a fresh copy of the journal for each of ${runs} runs

${table}

Each run: ${
    trials.map((x) =>
      `push ${
        seconds(x.first.ms)
      } in ${x.bulkChunks} bulk calls (largest body ${x.bulkBytesMax} bytes), again ${
        seconds(x.noop.ms)
      } (${x.noopRequests} requests), lost journal ${seconds(x.lost.ms)}`
    ).join("; ")
  }.

How measured: the CLI as a subprocess with the binary's permission flags (\`import\`, no
\`--batch-size\`), wall time from spawn to exit, so Deno's start-up and the login are included. "Re-run"
is \`import\` again on the same journal: nothing is pending, so it makes no request. "Lost journal"
is \`import\` from a fresh copy of the journal taken before the push, against the Wealthfolio that
has everything: ${t.lostChecks} \`check-duplicates\` call(s) of up to 5,000 keys find every key,
and no bulk call is made.
`;
  let doc = "";
  try {
    doc = await Deno.readTextFile(DOC);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const at = doc.indexOf(HEADING);
  if (at < 0) doc = `${doc.trimEnd()}\n\n${section}`;
  else {
    const next = doc.indexOf("\n## ", at + HEADING.length);
    doc = doc.slice(0, at) + section + (next < 0 ? "" : doc.slice(next));
  }
  await Deno.writeTextFile(DOC, doc);
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", DOC.pathname],
    stdout: "null",
    stderr: "null",
  }).output();
  console.log(`\nwrote the "${HEADING}" section of ${DOC.pathname}`);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    console.error(`bench-push: ${(e as Error).message}`);
    code = 1;
  }
  Deno.exit(code);
}
