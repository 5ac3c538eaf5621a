/**
 * What ships is what is tested: `deno compile` bakes scripts/permissions.ts into the binary, and
 * every command it offers must be run end to end by some test with exactly those flags
 * (run_cli.ts), so a command that needs a permission the binary lacks cannot pass CI.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, runCli, showRun } from "./run_cli.ts";

/** The commands listed by `broker-sync --help` (commander's own `help` aside). */
async function commands(): Promise<string[]> {
  const run = await runCli(["--help"]);
  assert.equal(run.code, 0, showRun(run));
  const section = run.stdout.slice(run.stdout.indexOf("\nCommands:\n"));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1])
    .filter((name) => name !== "help");
}

/** Every word of every `runCli([...])` argument list in the test suite, `--help` runs aside. */
async function wordsRunEndToEnd(dir = `${REPO_ROOT}/tests`, words = new Set<string>()) {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await wordsRunEndToEnd(path, words);
    if (!entry.name.endsWith("_test.ts")) continue;
    const source = await Deno.readTextFile(path);
    for (const [, list] of source.matchAll(/runCli\(\s*\[([^\]]*)\]/g)) {
      const literals = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
      if (!literals.includes("--help")) literals.forEach((word) => words.add(word));
    }
  }
  return words;
}

const offered = await commands();

Deno.test("the binary offers the foundation's commands", () => {
  for (const name of ["backfill", "verify-books", "status", "activities"]) {
    assert.ok(offered.includes(name), `${name} is missing from --help: ${offered.join(", ")}`);
  }
});

Deno.test("every command the binary offers is run end to end with the binary's flags", async () => {
  const covered = await wordsRunEndToEnd();
  const untested = offered.filter((name) => !covered.has(name));
  assert.deepEqual(untested, [], "add a test that runs them through runCli (tests/cli/run_cli.ts)");
});

Deno.test("every command's --help works with the binary's flags", async () => {
  for (const name of offered) {
    const run = await runCli([name, "--help"]);
    assert.equal(run.code, 0, showRun(run));
    assert.match(run.stdout, new RegExp(`^Usage: broker-sync ${name}\\b`), name);
  }
});
