/**
 * Every public Flex sample in ../shared/flex-samples/ (read in place, never copied), backfilled
 * alone into a fresh journal through the real CLI. Each must be accepted, or refused with a
 * documented exit code and one line; an accepted one must give every row an outcome, book no
 * security named like an FX pair and no correction with its sign flipped, and its books must
 * balance, or each difference be traced in docs/conformance.md (issue 3's "done when").
 */
import assert from "node:assert/strict";
import type { BackfillResult } from "../../src/app/backfill.ts";
import type { MappingSummary } from "../../src/app/map_statement.ts";
import type { BooksReport } from "../../src/app/verify_books.ts";
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
import { filesUnder } from "../support/files.ts";

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
/**
 * `EUR.USD`, and the forms a symbol mapper could turn it into (`EUR-USD`, `EUR/USD`, `EURUSD=X`):
 * both halves ISO currency codes.
 */
const FX_PAIR = /^([A-Z]{3})[.\-/]?([A-Z]{3})(?:=X)?$/;
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

function looksLikeFxPair(symbol: string | null): boolean {
  const m = FX_PAIR.exec(symbol ?? "");
  return m !== null && CURRENCIES.has(m[1]) && CURRENCIES.has(m[2]);
}

/** Activity types that add cash to the account in Wealthfolio, and those that take it away. */
const CASH_IN = new Set(["DIVIDEND", "INTEREST", "DEPOSIT", "CREDIT", "TRANSFER_IN"]);
const CASH_OUT = new Set(["WITHDRAWAL", "FEE", "TAX", "TRANSFER_OUT"]);

/** The hand-written Known differences of docs/conformance.md, one entry per file. */
const KNOWN = (() => {
  const doc = Deno.readTextFileSync(`${REPO_ROOT}/docs/conformance.md`);
  const start = doc.indexOf("<!-- known-differences:start");
  const end = doc.indexOf("<!-- known-differences:end -->");
  return start < 0 || end < start ? "" : doc.slice(start, end);
})();

/** The Known differences entry of a sample (`- **jal/ibkr.xml** …` up to the next file), or "". */
function knownEntry(name: string): string {
  const at = KNOWN.indexOf(`- **${name}**`);
  if (at < 0) return "";
  const next = KNOWN.indexOf("\n- **", at + 1);
  return KNOWN.slice(at, next < 0 ? undefined : next);
}

/** The samples, relative to the repository root as the CLI is given them. */
function sampleFiles(): string[] {
  return filesUnder(`${REPO_ROOT}/${SAMPLES}`, ".xml").map((p) => p.slice(REPO_ROOT.length + 1));
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
/** The journal each sample was backfilled into. */
const dataDirs = new Map<string, string>();

/** Backfills a sample alone into a fresh journal (once per file, shared by its tests). */
function backfillSample(path: string): Promise<SampleRun> {
  let pending = runs.get(path);
  if (!pending) {
    pending = (async () => {
      const dataDir = await tempDataDir("broker-sync-sample-");
      dataDirs.set(path, dataDir);
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
    const fxSecurities = activities.filter((a) =>
      a.activityType !== null && looksLikeFxPair(a.symbol)
    );
    assert.deepEqual(fxSecurities.map((a) => `${a.key} ${a.activityType} ${a.symbol}`), []);
    const badDividends = activities.filter((a) =>
      a.activityType === "DIVIDEND" && !(a.amount !== null && Number(a.amount) > 0)
    );
    assert.deepEqual(badDividends.map((a) => `${a.key} ${a.amount}`), []);
  });

  Deno.test(`flex sample ${name}: no correction is booked with its sign flipped`, async () => {
    const { run, raw, activities } = await backfillSample(path);
    if (run.code !== 0) return;
    const byKey = new Map(activities.map((a) => [a.key, a]));
    const xml = raw.replaceAll(/<!--[\s\S]*?-->/g, "");
    const flipped: string[] = [];
    for (const statement of xml.split(/(?=<FlexStatement\s)/).slice(1)) {
      const account = attribute(startTags(statement, "FlexStatement")[0] ?? "", "accountId");
      const keyOf = (tag: string) => {
        const id = attribute(tag, "transactionID")?.trim();
        return id && /^\d+$/.test(id) ? `ibkr:${account}:${id}` : null;
      };
      // A cash row moves cash the way its amount says: a negative dividend (a reversal) or a
      // negative withholding is never income, a positive one never a charge.
      for (const tag of startTags(statement, "CashTransaction")) {
        const key = keyOf(tag);
        const amount = Number((attribute(tag, "amount") ?? "").replaceAll(",", ""));
        if (!key || !Number.isFinite(amount) || amount === 0) continue;
        // A cash row sharing its trade's transactionID is keyed `:cash` (docs/cli.md).
        const booked = byKey.get(`${key}:cash`) ?? byKey.get(key);
        if (!booked || booked.state === "skipped" || booked.activityType === null) continue;
        const direction = CASH_IN.has(booked.activityType)
          ? 1
          : CASH_OUT.has(booked.activityType)
          ? -1
          : 0;
        if (direction !== Math.sign(amount)) {
          flipped.push(
            `${booked.key} ${booked.activityType} for ${attribute(tag, "type")} ${amount}`,
          );
        }
      }
      // A trade cancel or a cancelled corporate action only undoes: it is never booked itself.
      for (
        const tag of [...startTags(statement, "Trade"), ...startTags(statement, "CorporateAction")]
      ) {
        const key = keyOf(tag);
        const codes = (attribute(tag, "notes") ?? attribute(tag, "code") ?? "").split(";");
        const cancel = codes.some((c) => c.trim() === "Ca") ||
          (attribute(tag, "buySell") ?? "").includes("(Ca.)") ||
          /Cancel$/.test(attribute(tag, "transactionType") ?? "");
        const booked = key ? byKey.get(key) : undefined;
        if (cancel && booked && booked.state !== "skipped") {
          flipped.push(`${booked.key} ${booked.activityType} for a cancel`);
        }
      }
    }
    assert.deepEqual(flipped, []);
  });

  Deno.test(`flex sample ${name}: the books balance, or each difference is traced in docs/conformance.md`, async () => {
    const { run } = await backfillSample(path);
    if (run.code !== 0) return;
    const dataDir = dataDirs.get(path);
    assert.ok(dataDir, "backfilled into a journal");
    const verify = await runCli(["--json", "verify-books"], { dataDir });
    assert.ok(verify.code === 0 || verify.code === 7, showRun(verify));
    const books = parseJson<BooksReport>(verify);
    assert.equal(
      verify.code === 7,
      books.outcome === "differs",
      "exit 7 exactly when books differ",
    );
    const entry = knownEntry(name);
    const untraced: string[] = [];
    for (const [i, statement] of books.statements.entries()) {
      for (const c of statement.cash ?? []) {
        if (!c.balanced && !new RegExp(`\\b${c.currency}\\b`).test(entry)) {
          untraced.push(`statement ${i + 1} ${c.currency}: difference ${c.difference}`);
        }
      }
      for (const p of statement.positions.rows) {
        if (!p.balanced && !entry.includes(p.symbol ?? p.instrument)) {
          untraced.push(`statement ${i + 1} position ${p.symbol ?? p.instrument}`);
        }
      }
    }
    assert.deepEqual(untraced, [], "every difference named in the file's Known differences entry");
    if (books.outcome !== "differs") return;
    assert.notEqual(entry, "", `${name} differs: docs/conformance.md must explain it`);
    assert.doesNotMatch(entry, /to be confirmed/i);
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
