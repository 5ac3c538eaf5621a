/**
 * Conformance run over the shared Flex samples: for every `.xml` under `../shared/flex-samples`
 * (sorted), in a fresh data dir, runs the CLI exactly as the binary runs (`backfill`, then
 * `verify-books` against the journal) and writes `docs/conformance.md`: rows mapped, skipped by
 * reason, corrections, and the books balance per statement and currency, with the skipped rows
 * that are candidate causes of each difference.
 *
 * deno run --allow-read --allow-write --allow-run --allow-env scripts/conformance.ts
 *
 * The "Known differences" section at the top of the doc is hand-written (from reading the sample
 * XML) and kept between runs: it lives between the KNOWN_START / KNOWN_END markers.
 */
import { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { MAPPING_VERSION } from "../src/domain/activity.ts";
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SAMPLES = new URL("../../shared/flex-samples/", import.meta.url).pathname;
const DOC = new URL("../docs/conformance.md", import.meta.url).pathname;
const KNOWN_START = "<!-- known-differences:start (hand-written, kept by the generator) -->";
const KNOWN_END = "<!-- known-differences:end -->";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Mapping {
  statements: { accountId: string; fromDate: string | null; toDate: string | null }[];
  journaled: Record<string, number>;
  outcomes?: { mapped: number; skipped: number; unchanged: number };
  unchanged: number;
  skipped: Record<string, number>;
  corrections?: Record<string, number>;
  ignored: Record<string, number>;
  rows: Record<string, number>;
}

interface Category {
  category: string;
  ibkr: string;
  mapped: string;
  difference: string;
}

interface CurrencyBooks {
  currency: string;
  startingCash: string;
  endingCash: string;
  ibkr: string;
  mapped: string;
  difference: string;
  balanced: boolean;
  categories: Category[];
}

interface StatementBooks {
  origin: string;
  accountId: string;
  fromDate: string | null;
  toDate: string | null;
  cash: CurrencyBooks[] | null;
  positions: {
    checked: boolean;
    why: string;
    rows: {
      instrument: string;
      symbol: string;
      start: string;
      mappedChange: string;
      ibkrEnd: string;
      difference: string;
      balanced: boolean;
    }[];
  };
  unresolved: { key: string; reason: string }[];
  skipped: Record<string, number>;
  outcome: Outcome;
}

type Outcome = "balanced" | "differs" | "not-checked";

interface Books {
  outcome: Outcome;
  statements: StatementBooks[];
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  balanced: "balanced",
  differs: "differences",
  "not-checked": "not checked (nothing to compare)",
};

interface SkippedRow {
  key: string;
  account: string;
  date: string | null;
  reason: string;
  section: string;
  type: string;
  currency: string | null;
  amount: string | null;
  description: string;
}

async function cli(dataDir: string, args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, ENTRY_POINT, "--data-dir", dataDir, "--json", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Never let the operator's environment (account guard, data dir) change the run.
    clearEnv: true,
    env: { ...passthroughEnv(), NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** What deno itself needs to find its cache; never broker-sync's own variables. */
function passthroughEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function sampleFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d.replace(/\/$/, "")}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.isFile && e.name.toLowerCase().endsWith(".xml")) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

function refusal(stderr: string): string {
  const line = stderr.split("\n").find((l) => l.startsWith("broker-sync:"));
  return line ?? stderr.trim().split("\n").at(-1) ?? "";
}

function skippedRows(dataDir: string): SkippedRow[] {
  const path = `${dataDir}/broker-sync.sqlite`;
  try {
    Deno.statSync(path);
  } catch {
    return [];
  }
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare(
      `SELECT key, account_id, business_date, reason, payload FROM activities
       WHERE state = 'skipped' ORDER BY key`,
    ).all() as {
      key: string;
      account_id: string;
      business_date: string | null;
      reason: string;
      payload: string;
    }[];
    return rows.map((r) => {
      const s = (JSON.parse(r.payload).skipped ?? {}) as Record<string, string | null>;
      let amount = s.amount ?? s.proceeds ?? null;
      if (amount === null && s.quantity && s.tradePrice) {
        try {
          amount = `${
            new Decimal(s.quantity).times(s.tradePrice)
          } (qty × price, before multiplier)`;
        } catch { /* leave null */ }
      }
      return {
        key: r.key,
        account: r.account_id,
        date: r.business_date,
        reason: r.reason,
        section: s.section ?? "?",
        type: s.type ?? s.transactionType ?? s.buySell ?? "",
        currency: s.currency ?? null,
        amount,
        description: s.description ?? s.symbol ?? "",
      };
    });
  } finally {
    db.close();
  }
}

const md = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
const counts = (o: Record<string, number> | undefined) =>
  Object.entries(o ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);

function inPeriod(row: SkippedRow, s: StatementBooks): boolean {
  if (row.account !== s.accountId) return false;
  const d = row.date?.slice(0, 10);
  if (!d) return true;
  return (!s.fromDate || d >= s.fromDate) && (!s.toDate || d <= s.toDate);
}

function explain(
  s: StatementBooks,
  c: CurrencyBooks,
  skipped: SkippedRow[],
  known: string | null,
): string[] {
  const lines: string[] = [];
  const cats = c.categories.filter((k) => {
    try {
      return !new Decimal(k.difference).isZero();
    } catch {
      return true;
    }
  });
  if (cats.length) {
    lines.push(
      `Categories that differ: ${
        cats.map((k) => `${k.category} (IBKR ${k.ibkr}, mapped ${k.mapped}, diff ${k.difference})`)
          .join("; ")
      }.`,
    );
  }
  const candidates = skipped.filter((r) => inPeriod(r, s) && r.currency === c.currency);
  if (candidates.length) {
    lines.push(`Skipped ${c.currency} rows in this statement (candidate causes):`);
    for (const r of candidates) {
      lines.push(
        `  - \`${r.key}\` ${r.reason}: ${r.section} ${md(r.type)} ${r.amount ?? "(no amount)"} ${
          r.currency ?? ""
        } ${r.date?.slice(0, 10) ?? ""} ${md(r.description)}`.trimEnd(),
      );
    }
  }
  const other = skipped.filter((r) => inPeriod(r, s) && r.currency === null);
  if (other.length) {
    lines.push(`Skipped rows without a currency in this statement: ${other.length}.`);
  }
  if (s.unresolved.length) {
    lines.push(
      `Unresolved corrections: ${
        s.unresolved.map((u) => `\`${u.key}\` (${u.reason})`).join(", ")
      }.`,
    );
  }
  if (known !== null && new RegExp(`\\b${c.currency}\\b`).test(known)) {
    lines.push("Cause: verified against the XML, see Known differences above.");
  } else if (!candidates.length && !s.unresolved.length) {
    lines.push("No skipped row in this currency explains it. Cause: to be confirmed");
  } else {
    lines.push("Cause: to be confirmed (candidates listed; not verified against the XML)");
  }
  return lines;
}

function fileSection(
  rel: string,
  backfill: CliResult,
  verify: CliResult,
  skipped: SkippedRow[],
  known: string | null,
): string {
  const out: string[] = [`## ${rel}`, ""];
  let mapping: Mapping | null = null;
  if (backfill.code === 0) {
    const doc = JSON.parse(backfill.stdout);
    const f = doc.files[0];
    mapping = f.mapping;
    out.push(`Outcome: **${f.outcome}** (exit 0).`, "");
  } else {
    out.push(
      `Outcome: **refused** (exit ${backfill.code}): \`${md(refusal(backfill.stderr))}\``,
      "",
    );
  }
  if (mapping) {
    const o = mapping.outcomes;
    out.push(
      `Rows: mapped ${o?.mapped ?? "?"}, skipped ${o?.skipped ?? "?"}, unchanged ${
        o?.unchanged ?? mapping.unchanged
      }, ignored ${Object.values(mapping.ignored).reduce((a, b) => a + b, 0)}.`,
      "",
    );
    out.push(
      `Activities: ${counts(mapping.journaled).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}.`,
      "",
    );
    const sk = counts(mapping.skipped);
    out.push(
      `Skipped by reason: ${sk.length ? sk.map(([k, v]) => `\`${k}\` ${v}`).join(", ") : "none"}.`,
      "",
    );
    out.push(
      `Ignored: ${counts(mapping.ignored).map(([k, v]) => `\`${k}\` ${v}`).join(", ") || "none"}.`,
      "",
    );
    const c = mapping.corrections;
    out.push(
      `Corrections: resolved ${c?.resolved ?? 0}, open ${c?.open ?? 0}, superseded ${
        c?.superseded ?? 0
      }, owed to the push step ${c?.corrections ?? 0}.`,
      "",
    );
  }

  let books: Books | null = null;
  try {
    books = JSON.parse(verify.stdout);
  } catch {
    books = null;
  }
  if (!books) {
    out.push(
      `Books: not verified (verify-books exit ${verify.code}: \`${md(refusal(verify.stderr))}\`).`,
      "",
    );
    return out.join("\n");
  }
  out.push(
    `Books: **${OUTCOME_TEXT[books.outcome]}** (verify-books exit ${verify.code}${
      backfill.code === 0 ? ", against the journal" : ", file alone"
    }).`,
    "",
  );
  books.statements.forEach((s, i) => {
    out.push(
      `### Statement ${i + 1}: ${s.accountId} ${s.fromDate ?? "?"} … ${s.toDate ?? "?"}`,
      "",
      `Books: ${OUTCOME_TEXT[s.outcome]}.`,
      "",
    );
    if (!s.cash) {
      out.push("No CashReport: cash not checked.", "");
    } else {
      out.push(
        "| currency | IBKR moved | mapped | difference | balanced |",
        "| --- | ---: | ---: | ---: | --- |",
      );
      for (const c of s.cash) {
        out.push(
          `| ${c.currency} | ${c.ibkr} | ${c.mapped} | ${c.difference} | ${
            c.balanced ? "yes" : "**no**"
          } |`,
        );
      }
      out.push("");
      const catRows = s.cash.flatMap((c) =>
        c.categories.filter((k) => {
          try {
            return !new Decimal(k.difference).isZero();
          } catch {
            return true;
          }
        }).map((k) =>
          `| ${c.currency} | ${k.category} | ${k.ibkr} | ${k.mapped} | ${k.difference} |`
        )
      );
      if (catRows.length) {
        out.push(
          "Category differences (categories that agree are omitted; `(not in report)` means the",
          "CashReport has no column for it):",
          "",
          "| currency | category | IBKR | mapped | difference |",
          "| --- | --- | ---: | ---: | ---: |",
          ...catRows,
          "",
        );
      }
    }
    if (s.positions.checked) {
      const bad = s.positions.rows.filter((p) => !p.balanced);
      out.push(
        `Positions: checked, ${s.positions.rows.length} instruments, ${bad.length} differ.`,
        "",
      );
      for (const p of bad) {
        out.push(
          `- ${p.symbol} (${p.instrument}): start ${p.start} + mapped ${p.mappedChange} vs IBKR ${p.ibkrEnd} (diff ${p.difference})`,
        );
      }
      if (bad.length) out.push("");
    } else {
      out.push(`Positions: not checked (${s.positions.why}).`, "");
    }
    if (s.unresolved.length) {
      out.push(
        `Unresolved corrections: ${
          s.unresolved.map((u) => `\`${u.key}\` (${md(u.reason)})`).join(", ")
        }.`,
        "",
      );
    }
    for (const c of (s.cash ?? []).filter((c) => !c.balanced)) {
      out.push(`Explanation (${c.currency}, difference ${c.difference}):`, "");
      for (const line of explain(s, c, skipped, known)) {
        out.push(line.startsWith("  ") ? line : `- ${line}`);
      }
      out.push("");
    }
  });
  return out.join("\n");
}

async function gitCommit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function keptKnown(): string {
  try {
    const old = Deno.readTextFileSync(DOC);
    const a = old.indexOf(KNOWN_START);
    const b = old.indexOf(KNOWN_END);
    if (a >= 0 && b > a) return old.slice(a, b + KNOWN_END.length);
  } catch { /* first run */ }
  return `${KNOWN_START}\n\n_None written yet._\n\n${KNOWN_END}`;
}

/**
 * The Known differences entry of a file (its bullet, from `**<file>**` to the next bullet), or
 * null. A currency's difference counts as explained only when the entry names that currency.
 */
function knownEntry(known: string, rel: string): string | null {
  const at = known.indexOf(`- **${rel}**`);
  if (at < 0) return null;
  const next = known.indexOf("\n- **", at + 1);
  return known.slice(at, next < 0 ? undefined : next);
}

const knownText = keptKnown();
const files = sampleFiles(SAMPLES);
const sections: string[] = [];
const summary: string[] = [];
for (const file of files) {
  const rel = file.slice(SAMPLES.length);
  const dataDir = Deno.makeTempDirSync({ prefix: "conformance-" });
  try {
    const backfill = await cli(dataDir, ["backfill", file]);
    // After a backfill, verify the journal so reversals resolve against it; else the file alone.
    const verify = await cli(
      dataDir,
      backfill.code === 0 ? ["verify-books"] : ["verify-books", file],
    );
    const skipped = skippedRows(dataDir);
    sections.push(fileSection(rel, backfill, verify, skipped, knownEntry(knownText, rel)));
    let books: Books | null = null;
    try {
      books = JSON.parse(verify.stdout);
    } catch { /* not verified */ }
    const unbalanced = (books?.statements ?? []).flatMap((s) =>
      (s.cash ?? []).filter((c) => !c.balanced).map((c) => c.currency)
    );
    const mapped = backfill.code === 0
      ? JSON.parse(backfill.stdout).files[0].mapping?.outcomes
      : undefined;
    summary.push(
      `| ${rel} | ${backfill.code === 0 ? "journaled" : `refused (${backfill.code})`} | ${
        mapped?.mapped ?? "–"
      } | ${mapped?.skipped ?? "–"} | ${
        books
          ? books.outcome === "differs"
            ? `differs: ${[...new Set(unbalanced)].sort().join(", ") || "positions"}`
            : books.outcome === "not-checked"
            ? "not checked (nothing to compare)"
            : books.statements.every((s) => s.cash === null)
            ? "balanced (positions; no CashReport)"
            : "balanced"
          : "not verified"
      } |`,
    );
    console.error(`${rel}: backfill ${backfill.code}, verify-books ${verify.code}`);
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
}

const commit = await gitCommit();
const date = new Date().toISOString().slice(0, 10);
const doc = [
  "# Conformance: the shared Flex samples",
  "",
  "Generated by `scripts/conformance.ts` " +
  "(`deno run --allow-read --allow-write --allow-run --allow-env scripts/conformance.ts`) " +
  `on ${date} at commit \`${commit}\`, mapping version ${MAPPING_VERSION}. Do not edit by hand ` +
  "except the Known differences section, which the generator keeps.",
  "",
  "For every `.xml` under `../shared/flex-samples/` (name order), in a fresh data dir, the CLI runs",
  "with the binary's permission flags: `--json backfill FILE`, then `--json verify-books` against",
  "that journal (or `verify-books FILE` when the backfill refused the file). IBKR moved is",
  "`endingCash − startingCash` of the CashReport; mapped is the cash the mapped activities move in",
  "Wealthfolio. Explanations list the skipped rows of the same statement and currency as",
  "candidate causes; a file listed under Known differences has its causes verified by hand",
  "against the XML, and `Cause: to be confirmed` marks anything not yet verified.",
  "",
  "## Known differences",
  "",
  knownText,
  "",
  "## Summary",
  "",
  "| file | backfill | mapped | skipped | books |",
  "| --- | --- | ---: | ---: | --- |",
  ...summary,
  "",
  ...sections,
].join("\n");
Deno.writeTextFileSync(DOC, doc);
// Format as `deno task check` expects, so a re-run diffs only on real changes.
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", DOC], cwd: ROOT }).output();
console.error(`wrote ${DOC}`);
