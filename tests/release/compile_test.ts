/**
 * The release path: `deno task compile` builds `dist/broker-sync` from the one definition of the
 * CLI's permissions, and the binary embeds every module the commands load.
 */
import assert from "node:assert/strict";
import { BINARY, compileArgs } from "../../scripts/compile.ts";
import { ENTRY_POINT, PERMISSION_FLAGS, WORKER_MODULES } from "../../scripts/permissions.ts";
import { exists, REPO_ROOT } from "../cli/run_cli.ts";
import { filesUnder } from "../support/files.ts";

/** Runs `deno task compile …` in the repository and returns what it printed. */
async function compileTask(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "compile", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("deno task compile --dry-run prints the release command and builds nothing", async () => {
  const before = await exists(BINARY) ? (await Deno.stat(BINARY)).mtime : null;
  const run = await compileTask("--dry-run");
  assert.equal(run.code, 0, run.stderr);
  const words = run.stdout.trim().split(" ");
  assert.deepEqual(words.slice(0, 2), ["deno", "compile"]);
  // The permission flags are exactly the CLI's, as one run, and no other flag grants anything.
  const start = words.indexOf(PERMISSION_FLAGS[0]);
  assert.deepEqual(words.slice(start, start + PERMISSION_FLAGS.length), [...PERMISSION_FLAGS]);
  const grants = words.filter((w) => /^(--allow-|--deny-|-A$|--permission-set)/.test(w));
  assert.deepEqual(grants, [...PERMISSION_FLAGS]);
  // The entry point comes last: anything after it would be an argument of the binary itself.
  assert.deepEqual(words.at(-1), ENTRY_POINT);
  assert.deepEqual(words[words.indexOf("--output") + 1], `${REPO_ROOT}/dist/broker-sync`);
  // Each module started as a Worker is included: no static import reaches it.
  for (const module of WORKER_MODULES) {
    const at = words.findIndex((w, i) => w === module && words[i - 1] === "--include");
    assert.ok(at > 0 && at < words.length - 1, `--include ${module} before the entry point`);
  }
  const after = await exists(BINARY) ? (await Deno.stat(BINARY)).mtime : null;
  assert.deepEqual(
    after?.getTime(),
    before?.getTime(),
    "a dry run must not touch dist/broker-sync",
  );
});

Deno.test("deno task compile --target cross-compiles for the named platform", async () => {
  const run = await compileTask("--target", "aarch64-unknown-linux-gnu", "--dry-run");
  assert.equal(run.code, 0, run.stderr);
  const words = run.stdout.trim().split(" ");
  assert.deepEqual(words[words.indexOf("--target") + 1], "aarch64-unknown-linux-gnu");
  assert.ok(words.indexOf("--target") < words.indexOf(ENTRY_POINT));
});

Deno.test("deno task compile refuses an argument it does not know, with exit 2", async () => {
  const run = await compileTask("--outptu", "x");
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown argument "--outptu"/);
});

Deno.test("every module under src/ is in the module graph of main.ts or of an included Worker, so the binary embeds it", async () => {
  // deno compile embeds the module graph of the entry point and of each `--include`d Worker
  // module; a module loaded any other way (a computed import path, a file read at run time)
  // would be missing from the binary.
  const inGraph = new Set<string>();
  for (const root of [ENTRY_POINT, ...WORKER_MODULES]) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: { specifier: string }[];
    };
    for (const m of graph.modules) inGraph.add(m.specifier);
  }
  const missing: string[] = [];
  for (const path of filesUnder(`${REPO_ROOT}/src`, ".ts")) {
    if (!inGraph.has(`file://${path}`)) missing.push(path.slice(REPO_ROOT.length + 1));
  }
  assert.deepEqual(missing, [], "modules the compiled binary would not contain");
  assert.ok(inGraph.has(`file://${REPO_ROOT}/src/journal/migrations.ts`));
});

Deno.test({
  name: "the compile command really compiles: src/ and the used npm packages are embedded",
  // deno compile needs the runtime of the target; this deno stands in for it (DENORT_BIN), which
  // exercises everything but the download: flags, lockfile, type check, module graph, npm embedding.
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "broker-sync-compile-" });
    try {
      const output = `${dir}/broker-sync`;
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: compileArgs({ output }),
        cwd: REPO_ROOT,
        env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(stderr);
      assert.equal(code, 0, log);
      assert.ok((await Deno.stat(output)).isFile);
      const embedded = log.slice(log.indexOf("Embedded Files"));
      assert.match(embedded, /─ src\b/, embedded);
      for (const pkg of ["decimal.js", "zod", "saxes", "commander", "prom-client"]) {
        assert.ok(embedded.includes(pkg), `${pkg} must be embedded:\n${embedded}`);
      }
      assert.ok(!embedded.includes("fast-check"), "a test-only package must not be embedded");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the directory compile excludes from bintrees exists, so a new version cannot slip past it", async () => {
  const args = compileArgs();
  const excluded = args[args.indexOf("--exclude") + 1];
  assert.ok(
    (await Deno.stat(`${excluded}/perf`)).isDirectory,
    `${excluded} is not in the npm cache`,
  );
});
