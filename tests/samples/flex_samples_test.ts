/**
 * Every public Flex sample in ../shared/flex-samples/ (read in place, never copied), backfilled
 * alone into a fresh journal through the real CLI. Each must be accepted, or refused with a
 * documented exit code and one line; an accepted one must give every row an outcome.
 */
import assert from "node:assert/strict";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { MappingSummary } from "../../src/app/map_statement.ts";
import type { ActivityView } from "../../src/cli/output.ts";
import {
  type CliResult,
  lines,
  parseJson,
  REPO_ROOT,
  runCli,
  showRun,
  tempDataDir,
} from "../cli/run_cli.ts";

/** The samples directory, relative to the repository root (the CLI's working directory). */
const SAMPLES = "../shared/flex-samples";

/** Ignores that stand for a row on purpose (the row is a duplicate of another one). */
const ROW_IGNORES = [
  "cash-summary-duplicate",
  "cash-summary-beside-detail",
  "corporate-action-summary-duplicate",
  "corporate-action-summary-beside-detail",
] as const;

/** Legs one row's activities carry beside its key (docs/cli.md: commission, rebate, FX out/in/tax, fee, proceeds). */
const LEG_KEY = /:(?:commission|rebate|out|in|tax|fee|proceeds)$/;
const FX_PAIR = /^[A-Z]{3}\.[A-Z]{3}$/;

function sampleFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${REPO_ROOT}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && entry.name.toLowerCase().endsWith(".xml")) found.push(path);
    }
  };
  walk(SAMPLES);
  return found.sort();
}

// ---- counting rows in the raw XML --------------------------------------------------------------

/** One element start tag, quoted attribute values allowed to contain `>`. */
function startTags(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}\\s(?:[^>"']|"[^"]*"|'[^']*')*>`, "g");
  return xml.match(re) ?? [];
}

function attribute(startTag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(startTag);
  return m ? (m[1] ?? m[2]) : undefined;
}

interface RawRow {
  readonly tag: string;
  /** The enclosing FlexStatement's accountId: rows are keyed under it. */
  readonly statementAccount: string;
  readonly transactionId: string | null;
  /** The start tag with whitespace normalised, to tell identical rows from different ones. */
  readonly text: string;
}

const ROW_TAGS = ["Trade", "CashTransaction", "CorporateAction", "Transfer", "SalesTax"] as const;

/** The rows that must each get an outcome, per FlexStatement, from the raw text. */
function rawRows(raw: string): { rows: RawRow[]; all: Record<string, number> } {
  const xml = raw.replaceAll(/<!--[\s\S]*?-->/g, "");
  const rows: RawRow[] = [];
  const all: Record<string, number> = {};
  const statements = xml.split(/(?=<FlexStatement\s)/).slice(1);
  for (const statement of statements) {
    const account = attribute(startTags(statement, "FlexStatement")[0] ?? "", "accountId") ?? "";
    for (const tag of ROW_TAGS) {
      for (const start of startTags(statement, tag)) {
        all[tag] = (all[tag] ?? 0) + 1;
        const level = attribute(start, "levelOfDetail");
        // Trade aggregates (Order, SymbolSummary… levels) are not rows to import.
        if (tag === "Trade" && level !== undefined && level !== "EXECUTION") continue;
        const id = attribute(start, "transactionID")?.trim();
        rows.push({
          tag,
          statementAccount: account,
          transactionId: id ? id : null,
          text: start.replaceAll(/\s+/g, " "),
        });
      }
    }
  }
  return { rows, all };
}

// ---- running a sample --------------------------------------------------------------------------

interface SampleRun {
  readonly run: CliResult;
  readonly raw: string;
  readonly mapping: MappingSummary | null;
  readonly activities: readonly ActivityView[];
}

const runs = new Map<string, Promise<SampleRun>>();

/** Backfills a sample alone into a fresh journal (once per file, shared by its tests). */
function backfillSample(path: string): Promise<SampleRun> {
  let pending = runs.get(path);
  if (!pending) {
    pending = (async () => {
      const dataDir = await tempDataDir("broker-sync-sample-");
      const raw = await Deno.readTextFile(`${REPO_ROOT}/${path}`);
      const run = await runCli(["--json", "backfill", path], { dataDir });
      if (run.code !== 0) return { run, raw, mapping: null, activities: [] };
      const result = parseJson<BackfillResult>(run);
      assert.equal(result.files.length, 1);
      const list = await runCli(["--json", "activities"], { dataDir });
      assert.equal(list.code, 0, showRun(list));
      return {
        run,
        raw,
        mapping: result.files[0].mapping,
        activities: parseJson<ActivityView[]>(list),
      };
    })();
    runs.set(path, pending);
  }
  return pending;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

const FILES = sampleFiles();

Deno.test("the flex samples are there to test against", () => {
  assert.ok(FILES.length >= 20, `found ${FILES.length} samples under ${SAMPLES}`);
});

for (const path of FILES) {
  const name = path.slice(SAMPLES.length + 1);

  Deno.test(`flex sample ${name}: accepted with every row accounted for, or refused in one line`, async () => {
    const { run, raw, mapping, activities } = await backfillSample(path);
    assert.notEqual(run.code, 1, `never an internal error\n${showRun(run)}`);
    assert.doesNotMatch(run.stderr, /^\s+at /m, `never a stack trace\n${showRun(run)}`);
    if (run.code !== 0) {
      assert.ok(run.code === 3 || run.code === 4, `exit 3 or 4 when refused\n${showRun(run)}`);
      const messages = lines(run.stderr).filter((l) => l.startsWith("broker-sync: "));
      assert.equal(messages.length, 1, showRun(run));
      assert.equal(lines(run.stderr).at(-1), messages[0], showRun(run));
      assert.ok(messages[0].includes(path), `the message names the file\n${showRun(run)}`);
      return;
    }
    assert.ok(mapping, "a new file has a mapping summary");

    // The reader saw every row the file has.
    const { rows, all } = rawRows(raw);
    for (const tag of ROW_TAGS) {
      assert.equal(mapping.rows[tag] ?? 0, all[tag] ?? 0, `<${tag}> rows read`);
    }

    // Every row to import has exactly one outcome: an activity (journaled now, or already in the
    // journal), a skip with its reason, or a documented ignore of a duplicate row.
    const { mapped, skipped } = mapping.outcomes;
    assert.equal(skipped, sum(mapping.skipped), "skips by reason add up to the skipped rows");
    const ignored = ROW_IGNORES.reduce((n, reason) => n + (mapping.ignored[reason] ?? 0), 0);
    const outcomes = { mapped, skipped, unchanged: mapping.unchanged, ignored };
    assert.equal(
      mapped + skipped + mapping.unchanged + ignored,
      rows.length,
      `rows to import: ${rows.length} (${
        ROW_TAGS.map((t) => `${t} ${rows.filter((r) => r.tag === t).length}`).join(", ")
      }); outcomes: ${JSON.stringify(outcomes)}`,
    );

    // What is journaled is never an FX pair booked as a security, nor a non-positive dividend.
    const fxTrades = activities.filter((a) =>
      (a.activityType === "BUY" || a.activityType === "SELL") && FX_PAIR.test(a.symbol ?? "")
    );
    assert.deepEqual(fxTrades.map((a) => `${a.key} ${a.activityType} ${a.symbol}`), []);
    const badDividends = activities.filter((a) =>
      a.activityType === "DIVIDEND" && !(a.amount !== null && Number(a.amount) > 0)
    );
    assert.deepEqual(badDividends.map((a) => `${a.key} ${a.amount}`), []);
  });

  Deno.test(`flex sample ${name}: every distinct row gets a journal entry of its own`, async () => {
    const { run, raw, mapping, activities } = await backfillSample(path);
    if (run.code !== 0 || !mapping) return; // Refusals are the test above's business.
    const { rows } = rawRows(raw);
    // Only a transaction repeated verbatim (overlapping statements of one account) is one entry;
    // any two rows that differ must not collapse onto one key, whatever their ids look like.
    const seen = new Set<string>();
    let repeats = 0;
    for (const row of rows) {
      if (!row.transactionId) continue;
      const identity = `${row.statementAccount}\n${row.text}`;
      if (seen.has(identity)) repeats++;
      else seen.add(identity);
    }
    const ignored = ROW_IGNORES.reduce((n, reason) => n + (mapping.ignored[reason] ?? 0), 0);
    const entries = new Set(activities.map((a) => a.key.replace(LEG_KEY, "")));
    assert.equal(
      entries.size,
      rows.length - ignored - repeats,
      `one journal entry per distinct row: ${rows.length} rows, ${ignored} documented ignores, ` +
        `${repeats} verbatim repeats; backfill said ${mapping.unchanged} already in the journal`,
    );
  });
}
