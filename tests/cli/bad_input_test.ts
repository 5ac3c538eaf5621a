/**
 * A refused statement changes nothing. Each bad input is backfilled into a data dir that already
 * holds a journal (of the good fixture) and into one that has none: the documented exit code,
 * one `broker-sync: ` line naming the file, the journal byte-for-byte as it was, and no journal
 * left behind where there was none.
 *
 * Static inputs live in fixtures/bad/ (named `*.xml.bad` so that `backfill fixtures/` never
 * picks them up); inputs derived from the sample statement are generated here.
 */
import assert from "node:assert/strict";
import type { ActivityView } from "../../src/cli/output.ts";
import {
  type CliResult,
  exists,
  FIXTURE,
  journalFile,
  lines,
  parseJson,
  REPO_ROOT,
  runCli,
  sha256OfFile,
  showRun,
  tempDataDir,
} from "./run_cli.ts";

const GUARD = { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" };
const BAD = `${REPO_ROOT}/fixtures/bad`;
const EXIT_INPUT = 3;
const EXIT_ACCOUNT = 4;

interface BadCase {
  readonly name: string;
  /** The files to backfill, in order; the last one is the bad one the message must name. */
  readonly files: () => Promise<string[]>;
  readonly code: number;
  /** What the message must say beyond naming the file. */
  readonly says: readonly RegExp[];
}

// Derived inputs are written once into one directory.
let derivedDir: Promise<string> | undefined;
async function derived(name: string, make: (fixture: string) => string): Promise<string> {
  derivedDir ??= tempDataDir("broker-sync-bad-input-");
  const path = `${await derivedDir}/${name}`;
  await Deno.writeTextFile(path, make(await Deno.readTextFile(FIXTURE)));
  return path;
}

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  assert.ok(at >= 0 && text.indexOf(from, at + 1) < 0, `"${from}" occurs once in the fixture`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

const staticFile = (name: string) => () => Promise.resolve([`${BAD}/${name}`]);

const CASES: readonly BadCase[] = [
  {
    name: "malformed XML (a mismatched closing tag)",
    files: staticFile("malformed-mismatched-tag.xml.bad"),
    code: EXIT_INPUT,
    says: [/not well-formed XML/],
  },
  {
    name: "a truncated statement (cut in the middle of a Trade row)",
    files: async () => [
      await derived("truncated.xml", (xml) => {
        const cut = xml.indexOf('tradeDate="2025-02-03"') + 'tradeDate="2025-'.length;
        return xml.slice(0, cut);
      }),
    ],
    code: EXIT_INPUT,
    says: [/not well-formed XML|truncated/],
  },
  {
    name: "a DTD entity bomb (billion laughs)",
    files: staticFile("entity-bomb.xml.bad"),
    code: EXIT_INPUT,
    says: [/DOCTYPE/],
  },
  {
    name: "an entity reference without a DTD",
    files: staticFile("entity-without-dtd.xml.bad"),
    code: EXIT_INPUT,
    says: [/entity/i],
  },
  {
    name: "an IBKR error response (1012 token expired) saved as a file",
    files: staticFile("ibkr-error-1012.xml.bad"),
    code: EXIT_INPUT,
    says: [/\b1012\b/, /Token has expired\./],
  },
  {
    name: "an IBKR Warn 1019 response (statement in progress) saved as a file",
    files: staticFile("ibkr-warn-1019.xml.bad"),
    code: EXIT_INPUT,
    says: [/\b1019\b/, /Warn/, /Statement generation in progress/],
  },
  {
    name: "a SendRequest Success response with a ReferenceCode",
    files: staticFile("send-request-success.xml.bad"),
    code: EXIT_INPUT,
    says: [/1234567890/, /not a statement/],
  },
  {
    name: "an HTML 404 page",
    files: staticFile("html-404.xml.bad"),
    code: EXIT_INPUT,
    says: [/HTML/],
  },
  {
    name: "an empty file",
    files: staticFile("empty.xml.bad"),
    code: EXIT_INPUT,
    says: [/empty/],
  },
  {
    name: "a whitespace-only file",
    files: staticFile("whitespace-only.xml.bad"),
    code: EXIT_INPUT,
    says: [/empty/],
  },
  {
    name: "a non-UTF-8 file (Latin-1 0xE9 in a description)",
    files: staticFile("latin1-description.xml.bad"),
    code: EXIT_INPUT,
    says: [/UTF-8/],
  },
  {
    name: "a FlexQueryResponse with zero FlexStatements",
    files: staticFile("zero-statements.xml.bad"),
    code: EXIT_INPUT,
    says: [/no <FlexStatement>/],
  },
  {
    name: "a row with an unparseable required date (tradeDate 2025-13-45)",
    files: async () => [
      await derived("bad-trade-date.xml", (xml) =>
        replaceOnce(
          xml,
          'transactionID="31000001" reportDate="2025-01-15" tradeDate="2025-01-15"',
          'transactionID="31000001" reportDate="2025-01-15" tradeDate="2025-13-45"',
        )),
    ],
    code: EXIT_INPUT,
    says: [/\bTrades\b/, /31000001/, /2025-13-45/, /tradeDate/],
  },
  {
    name: "a masked account id (U***4567)",
    files: async () => [
      await derived("masked-account.xml", (xml) => xml.replaceAll('"U1234567"', '"U***4567"')),
    ],
    code: EXIT_ACCOUNT,
    says: [/U\*\*\*4567/, /masked/],
  },
  {
    name: "a second FlexStatement of an account the guard does not accept",
    files: async () => [
      await derived("second-account.xml", (xml) => {
        const start = xml.indexOf("<FlexStatement ");
        const end = xml.indexOf("</FlexStatement>") + "</FlexStatement>".length;
        const other = xml.slice(start, end).replaceAll('"U1234567"', '"U7654321"');
        return replaceOnce(xml, "</FlexStatements>", `${other}\n</FlexStatements>`);
      }),
    ],
    code: EXIT_ACCOUNT,
    says: [/U7654321/, /nothing was written/],
  },
  {
    name: "a statement truncated after a complete FlexStatement (its rows already read)",
    files: async () => [
      await derived("truncated-after-statement.xml", (xml) => {
        const end = xml.indexOf("</FlexStatement>") + "</FlexStatement>".length;
        return xml.slice(0, end);
      }),
    ],
    code: EXIT_INPUT,
    says: [/not well-formed XML|truncated/],
  },
  {
    name: "a wrong root element",
    files: staticFile("wrong-root.xml.bad"),
    code: EXIT_INPUT,
    says: [/root element/, /TradeConfirmations/],
  },
  {
    name: "a good file plus a bad file in one backfill (all or nothing)",
    files: async () => [await goodNewStatement(), `${BAD}/malformed-mismatched-tag.xml.bad`],
    code: EXIT_INPUT,
    says: [/not well-formed XML/],
  },
];

/** A valid statement the shared journal has not seen: the fixture with new transaction ids. */
function goodNewStatement(): Promise<string> {
  return derived(
    "good-new-statement.xml",
    (xml) =>
      xml.replaceAll('transactionID="3100000', 'transactionID="3500000')
        .replaceAll('transactionID="3200000', 'transactionID="3600000'),
  );
}
const NEW_KEY = /^ibkr:U1234567:3[56]0000\d/;

// A data dir holding a journal of the good fixture, shared by every case (each must leave it
// exactly as it is).
let journaled: Promise<string> | undefined;
function journaledDataDir(): Promise<string> {
  journaled ??= (async () => {
    const dataDir = await tempDataDir();
    const run = await runCli(["backfill", FIXTURE], { dataDir, env: GUARD });
    assert.equal(run.code, 0, showRun(run));
    return dataDir;
  })();
  return journaled;
}

/** The data dir's files that belong to the journal (the database and any SQLite side file). */
async function journalFiles(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dataDir)) {
    if (entry.name.startsWith("broker-sync.sqlite")) names.push(entry.name);
  }
  return names.sort();
}

function assertRefusal(run: CliResult, c: BadCase, badFile: string): void {
  assert.equal(run.code, c.code, showRun(run));
  const all = lines(run.stderr);
  const messages = all.filter((l) => l.startsWith("broker-sync: "));
  assert.equal(messages.length, 1, `one "broker-sync: " line\n${showRun(run)}`);
  const message = messages[0];
  assert.equal(all.at(-1), message, `stderr ends with the message\n${showRun(run)}`);
  assert.ok(message.includes(badFile), `the message names ${badFile}\n${showRun(run)}`);
  for (const pattern of c.says) assert.match(message, pattern);
  assert.doesNotMatch(message, /internal error/);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  assert.equal(run.stdout, "", "nothing on stdout");
}

for (const c of CASES) {
  Deno.test(`refused, journal unchanged: ${c.name} → exit ${c.code}`, async () => {
    const dataDir = await journaledDataDir();
    const files = await c.files();
    const badFile = files.at(-1)!;
    const journal = journalFile(dataDir);
    const sideFiles = await journalFiles(dataDir);
    const before = await sha256OfFile(journal);

    const run = await runCli(["backfill", ...files], { dataDir, env: GUARD });

    assertRefusal(run, c, badFile);
    assert.equal(await sha256OfFile(journal), before, "the journal is byte-for-byte unchanged");
    assert.deepEqual(await journalFiles(dataDir), sideFiles, "no SQLite side file left behind");
  });

  Deno.test(`refused, no journal left behind: ${c.name} → exit ${c.code}`, async () => {
    const dataDir = await tempDataDir();
    const files = await c.files();
    const run = await runCli(["backfill", ...files], { dataDir, env: GUARD });
    assertRefusal(run, c, files.at(-1)!);
    assert.deepEqual(await journalFiles(dataDir), [], "no journal file in the data dir");
  });
}

Deno.test("all or nothing: after a refused good+bad backfill none of the good file's rows are listed", async () => {
  const dataDir = await journaledDataDir();
  const good = await goodNewStatement();
  const refused = await runCli(["backfill", good, `${BAD}/empty.xml.bad`], {
    dataDir,
    env: GUARD,
  });
  assert.equal(refused.code, EXIT_INPUT, showRun(refused));
  const list = await runCli(["--json", "activities"], { dataDir });
  assert.equal(list.code, 0, showRun(list));
  const keys = parseJson<ActivityView[]>(list).map((a) => a.key);
  assert.deepEqual(keys.filter((k) => NEW_KEY.test(k)), []);
  const status = await runCli(["--json", "status"], { dataDir });
  assert.equal(parseJson<{ statements: { documents: number } }>(status).statements.documents, 1);
});

Deno.test("the good file of the all-or-nothing case is itself accepted (so the refusal is the bad file's)", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["backfill", await goodNewStatement()], { dataDir, env: GUARD });
  assert.equal(run.code, 0, showRun(run));
  assert.equal(await exists(journalFile(dataDir)), true);
});

Deno.test("the bad inputs in fixtures/bad are not picked up by a backfill of fixtures/", async () => {
  const dataDir = await tempDataDir();
  const run = await runCli(["--json", "backfill", `${REPO_ROOT}/fixtures`], {
    dataDir,
    env: GUARD,
  });
  assert.equal(run.code, 0, showRun(run));
  const files = parseJson<{ files: { path: string }[] }>(run).files.map((f) => f.path);
  assert.ok(files.every((f) => !f.includes("/bad/")), files.join(", "));
});

Deno.test("a data dir that cannot hold a journal is exit 6 with one line naming it, never an internal error", async () => {
  const root = await tempDataDir();
  const file = `${root}/not-a-dir`;
  await Deno.writeTextFile(file, "");
  const folder = `${root}/journal-is-a-folder`;
  await Deno.mkdir(`${folder}/broker-sync.sqlite`, { recursive: true });
  for (
    const [dataDir, args] of [
      [file, ["backfill", FIXTURE]],
      [file, ["status"]],
      [folder, ["status"]],
      [folder, ["backfill", FIXTURE]],
    ] as const
  ) {
    const run = await runCli([...args], { dataDir, env: GUARD });
    assert.equal(run.code, 6, showRun(run));
    const errors = lines(run.stderr).filter((l) => l.startsWith("broker-sync: "));
    assert.equal(errors.length, 1, showRun(run));
    assert.ok(errors[0].includes(dataDir), `the line names ${dataDir}\n${showRun(run)}`);
    assert.doesNotMatch(run.stderr, /internal error|--allow-/, showRun(run));
  }
  assert.equal(await Deno.readTextFile(file), "", "the file given as data dir is untouched");
});
