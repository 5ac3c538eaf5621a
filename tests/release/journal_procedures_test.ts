/**
 * The journal procedures of docs/operations.md, run as written: the commands an operator types
 * into the helper pod are read from the document and run here against a real journal, with only
 * the pod's paths (/data, /tmp) pointed at temporary directories. Backup while a writer is busy,
 * restore under the run lock, and re-mapping by writing the journal's statements out.
 *
 * They need what the helper pod has: sqlite3, flock and sha256sum (Debian: sqlite3, util-linux,
 * coreutils). Where sqlite3 is missing the tests say so and are skipped.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAPPING_VERSION } from "../../src/domain/activity.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import {
  FIXTURE,
  journalFile,
  parseJson,
  REPO_ROOT,
  runCli,
  sha256OfFile,
  showRun,
  tempDataDir,
} from "../cli/run_cli.ts";
import { codeBlocks, readDoc, section } from "./_operator_docs.ts";
import { onPath } from "../support/tools.ts";

const OPERATIONS = await readDoc("docs/operations.md");
const SAMPLE = `${REPO_ROOT}/../shared/flex-samples/jal/ibkr_dividends.xml`;
const POD_PREFIX = "kubectl -n broker-sync exec broker-sync-journal -- ";

const missing = [];
for (const tool of ["sqlite3", "flock", "sha256sum"]) {
  if (!await onPath(tool)) missing.push(tool);
}
if (missing.length) {
  console.log(`skipped: the journal procedures need ${missing.join(", ")} (Debian: sqlite3)`);
}
const ignore = missing.length > 0;

/** Whether the tests run as root, as the helper pod does (then its chown runs for real). */
const asRoot = new TextDecoder().decode(
  (await new Deno.Command("id", { args: ["-u"], stdout: "piped" }).output()).stdout,
).trim() === "0";

/**
 * The commands a section runs in the helper pod, in order: each `kubectl … exec broker-sync-journal
 * -- <command>` of its code blocks, a quoted script continuing over the lines that close it.
 */
function podCommands(text: string): string[] {
  const commands: string[] = [];
  for (const block of codeBlocks(text)) {
    const lines = block.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith(POD_PREFIX)) continue;
      let command = lines[i].slice(POD_PREFIX.length);
      while ((command.match(/'/g) ?? []).length % 2 === 1 && i + 1 < lines.length) {
        command += "\n" + lines[++i];
      }
      commands.push(command);
    }
  }
  return commands;
}

/** The script a section feeds the helper pod's shell through a heredoc. */
function podScript(text: string, delimiter: string): string {
  const start = text.indexOf(`<<'${delimiter}'\n`);
  const end = text.indexOf(`\n${delimiter}\n`, start);
  assert.ok(start >= 0 && end > start, `no <<'${delimiter}' script`);
  return text.slice(text.indexOf("\n", start) + 1, end + 1);
}

interface Pod {
  readonly data: string;
  readonly tmp: string;
}

/** A helper-pod text with the pod's /data and /tmp pointed at the given directories. */
function localize(pod: Pod, text: string): string {
  const local = text.replaceAll(
    /(?<=^|[\s'"=])\/(data|tmp)(?=[/\s'"]|$)/gm,
    (_, dir: string) => dir === "data" ? pod.data : pod.tmp,
  );
  // The pod runs as root; here, only root may give files to uid 65532.
  return asRoot ? local : local.replaceAll(/chown (-R )?65532:65532 /g, "true ");
}

/**
 * Runs a helper-pod command here (`sh -c`), or with `script` a heredoc fed to `sh -eu` as the
 * document does.
 */
async function inPod(pod: Pod, command: string | { script: string }) {
  const script = typeof command === "string" ? null : localize(pod, command.script);
  const child = new Deno.Command("sh", {
    args: script === null ? ["-c", localize(pod, command as string)] : ["-eu"],
    stdin: script === null ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (script !== null) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

async function pod(): Promise<Pod> {
  return { data: await tempDataDir("broker-sync-pod-data-"), tmp: await tempDataDir("pod-tmp-") };
}

/** A statement over 1 MiB, so the journal keeps it in several chunks, with multi-byte text. */
async function largeStatement(): Promise<string> {
  const dir = await tempDataDir("broker-sync-statements-");
  const fixture = await Deno.readTextFile(FIXTURE);
  const at = fixture.indexOf("<FlexStatements");
  const path = `${dir}/large.xml`;
  await Deno.writeTextFile(
    path,
    `${fixture.slice(0, at)}<!-- ${"padding € ".repeat(120_000)} -->\n${fixture.slice(at)}`,
  );
  return path;
}

async function backfill(dataDir: string, ...paths: string[]) {
  const run = await runCli(["backfill", ...paths, "--no-push"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
}

/** What `status --json` says the journal holds (not where it is, not its runs). */
async function holdings(dataDir: string) {
  const run = await runCli(["status", "--json"], { dataDir });
  assert.equal(run.code, 0, showRun(run));
  const { statements, activities, skipped, corrections, runs } = parseJson<
    Record<string, unknown> & { runs: { command: string }[] }
  >(run);
  return { statements, activities, skipped, corrections, runCommands: runs.map((r) => r.command) };
}

/** A file as the only journal of a fresh data dir. */
async function asJournal(file: string): Promise<string> {
  const dir = await tempDataDir("broker-sync-copy-");
  await Deno.copyFile(file, journalFile(dir));
  return dir;
}

Deno.test({
  name: "the documented backup gives the committed journal while a writer holds a transaction",
  ignore,
  async fn() {
    const p = await pod();
    await backfill(p.data, FIXTURE, await largeStatement());
    const committed = await holdings(p.data);
    const text = section(OPERATIONS, "Backing up the journal");
    const [backup, check, ...rest] = podCommands(text);
    assert.deepEqual(rest, []);
    assert.match(backup, /VACUUM INTO/);
    const pageByPage = /`(sqlite3 \/data\/broker-sync\.sqlite "\.backup [^"`]+")`/.exec(text);
    assert.ok(pageByPage, "the .backup alternative");

    const writer = new DatabaseSync(journalFile(p.data));
    writer.exec("BEGIN IMMEDIATE");
    writer.exec(
      "INSERT INTO runs (command, started_at, outcome) VALUES ('uncommitted', '2026-11-20T02:00:00Z', 'running')",
    );
    try {
      for (const command of [backup, pageByPage[1]]) {
        const run = await inPod(p, command);
        assert.equal(run.code, 0, run.stderr);
      }
      const ok = await inPod(p, check);
      assert.equal(ok.stdout.trim(), "ok", ok.stderr);
    } finally {
      writer.exec("ROLLBACK");
      writer.close();
    }
    for (const copy of [`${p.tmp}/journal.sqlite`, `${p.tmp}/journal-copy.sqlite`]) {
      const restored = await holdings(await asJournal(copy));
      assert.deepEqual(restored, committed, copy);
      assert.ok(!restored.runCommands.includes("uncommitted"));
    }
  },
});

Deno.test({
  name: "the documented restore replaces the journal under the run lock, and waits for no run",
  ignore,
  async fn() {
    const p = await pod();
    await backfill(p.data, FIXTURE);
    const [backup] = podCommands(section(OPERATIONS, "Backing up the journal"));
    assert.equal((await inPod(p, backup)).code, 0);
    const backedUp = await holdings(p.data);
    await backfill(p.data, SAMPLE); // the journal moves on after the backup
    const later = await holdings(p.data);
    assert.notDeepEqual(later.statements, backedUp.statements);

    const [check, restore, ...rest] = podCommands(section(OPERATIONS, "Restoring the journal"));
    assert.deepEqual(rest, []);
    assert.match(restore, /^flock -n \/data\/broker-sync\.lock /);
    await Deno.copyFile(`${p.tmp}/journal.sqlite`, `${p.tmp}/restore.sqlite`); // kubectl cp
    assert.equal((await inPod(p, check)).stdout.trim(), "ok");

    // A run holding the lock: the restore does not start, and flock's lock is broker-sync's own.
    const lock = `${p.data}/broker-sync.lock`;
    const holder = new Deno.Command("flock", { args: [lock, "cat"], stdin: "piped" }).spawn();
    try {
      let held = false;
      for (let tries = 0; !held && tries < 500; tries++) {
        const probe = await new Deno.Command("flock", { args: ["-n", lock, "true"] }).output();
        held = probe.code !== 0;
      }
      assert.ok(held, "flock never took the lock");
      const refused = await inPod(p, restore);
      assert.notEqual(refused.code, 0, "restored under a held lock");
      assert.deepEqual(await holdings(p.data), later);
      const locked = await runCli(["backfill", FIXTURE, "--no-push"], { dataDir: p.data });
      assert.equal(locked.code, EXIT.LOCKED, showRun(locked));
    } finally {
      await holder.stdin.close();
      await holder.status;
    }

    const run = await inPod(p, restore);
    assert.equal(run.code, 0, run.stderr);
    const names = [...Deno.readDirSync(p.data)].map((e) => e.name);
    assert.ok(!names.some((n) => n.endsWith("-wal") || n.endsWith("-shm")), names.join(", "));
    assert.equal((await Deno.stat(journalFile(p.data))).mode! & 0o777, 0o600);
    assert.deepEqual(await holdings(p.data), backedUp);
    const replaced = names.find((n) => n.startsWith("broker-sync.sqlite.replaced-"));
    assert.ok(replaced, names.join(", "));
    assert.deepEqual(await holdings(await asJournal(`${p.data}/${replaced}`)), later);
    await backfill(p.data, SAMPLE); // broker-sync writes the restored journal again
  },
});

Deno.test({
  name: "re-mapping as documented writes out the journal's own bytes and maps them again",
  ignore,
  async fn() {
    const p = await pod();
    await backfill(p.data, FIXTURE, await largeStatement(), SAMPLE);
    const db = new DatabaseSync(journalFile(p.data));
    const old = MAPPING_VERSION - 1;
    let pushed: { key: string; payload: string };
    let refusedId: number;
    try {
      // The journal as the previous mapping version left it: one activity already in
      // Wealthfolio, one statement refused when it was fetched.
      db.exec(`UPDATE statement_mappings SET mapping_version = ${old}`);
      db.exec(`UPDATE activities SET mapping_version = ${old}`);
      pushed = db.prepare(
        "SELECT key, payload FROM activities WHERE state = 'pending' ORDER BY key LIMIT 1",
      ).get() as typeof pushed;
      db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?").run(pushed.key);
      refusedId = Number(
        (db.prepare("SELECT id FROM statements WHERE origin LIKE '%ibkr_dividends.xml'").get() as {
          id: number;
        }).id,
      );
      db.prepare("UPDATE statements SET refused = 'short' WHERE id = ?").run(refusedId);
      const chunks = db.prepare(
        "SELECT MAX(n) AS n FROM (SELECT COUNT(*) AS n FROM statement_chunks GROUP BY statement_id)",
      ).get() as { n: number };
      assert.ok(Number(chunks.n) >= 2, "a statement in several chunks");
    } finally {
      db.close();
    }

    const text = section(OPERATIONS, "Re-mapping after an upgrade");
    const exported = await inPod(p, { script: podScript(text, "SCRIPT") });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^\s*2 statements in /);

    const journal = new DatabaseSync(journalFile(p.data), { readOnly: true });
    const stored = journal.prepare("SELECT id, sha256 FROM statements ORDER BY id").all() as {
      id: number;
      sha256: string;
    }[];
    journal.close();
    const files = [...Deno.readDirSync(`${p.data}/remap`)].map((e) => e.name)
      .filter((n) => n.endsWith(".xml")).sort();
    const hashes = await Promise.all(files.map((f) => sha256OfFile(`${p.data}/remap/${f}`)));
    assert.deepEqual(
      hashes.sort(),
      stored.filter((s) => Number(s.id) !== refusedId).map((s) => s.sha256).sort(),
    );
    assert.deepEqual(files, [...files].sort(), "oldest first by name");

    const run = await runCli(["backfill", `${p.data}/remap`, "--no-push", "--json"], {
      dataDir: p.data,
    });
    assert.equal(run.code, 0, showRun(run));
    const outcomes = parseJson<{ files: { outcome: string }[] }>(run).files.map((f) => f.outcome);
    assert.deepEqual(outcomes, files.map(() => "remapped"));

    const after = new DatabaseSync(journalFile(p.data), { readOnly: true });
    try {
      assert.equal(
        Number((after.prepare("SELECT COUNT(*) AS n FROM statements").get() as { n: number }).n),
        stored.length,
        "no statement journaled anew",
      );
      const rows = after.prepare(
        "SELECT key, payload, mapping_version AS v, statement_id AS s FROM activities",
      ).all() as { key: string; payload: string; v: number; s: number }[];
      const kept = rows.find((r) => r.key === pushed.key)!;
      assert.equal(Number(kept.v), old, "a pushed activity is never re-mapped");
      assert.equal(kept.payload, pushed.payload);
      const stale = rows.filter((r) =>
        r.key !== pushed.key && Number(r.s) !== refusedId && Number(r.v) !== MAPPING_VERSION
      );
      assert.deepEqual(stale.map((r) => r.key), []);
    } finally {
      after.close();
    }
  },
});
