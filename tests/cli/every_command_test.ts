/**
 * What ships is what is tested: `deno compile` bakes scripts/permissions.ts into the binary, and
 * every command it offers must be run end to end by some test with exactly those flags
 * (run_cli.ts), so a command that needs a permission the binary lacks cannot pass CI.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, runCli, showRun } from "./run_cli.ts";
import { filesUnder } from "../support/files.ts";

/** The commands listed by `broker-sync --help` (commander's own `help` aside). */
async function commands(): Promise<string[]> {
  const run = await runCli(["--help"]);
  assert.equal(run.code, 0, showRun(run));
  const section = run.stdout.slice(run.stdout.indexOf("\nCommands:\n"));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1])
    .filter((name) => name !== "help");
}

/** Every TypeScript file under tests/, with its source. */
async function testSources(): Promise<Map<string, string>> {
  const paths = filesUnder(`${REPO_ROOT}/tests`, ".ts");
  return new Map(
    await Promise.all(paths.map(async (p) => [p, await Deno.readTextFile(p)] as const)),
  );
}

/**
 * The functions that run the CLI: `runCli` itself, and every top-level function of the tests
 * that hands its first parameter, the argument list, on to `runCli` unchanged (`runFlexCli`,
 * which also checks that no token is printed). A helper that builds its own arguments does not
 * count: only the literal list at the call site says which command ran.
 */
function cliRunners(sources: Map<string, string>): string[] {
  const runners = ["runCli"];
  for (const source of sources.values()) {
    // deno fmt closes a top-level function with a `}` alone at the start of a line.
    const functions = source.matchAll(
      /^export (?:async )?function (\w+)\(\s*(\w+)\b[\s\S]*?^\}/gm,
    );
    for (const [body, name, firstParameter] of functions) {
      if (name !== "runCli" && body.includes(`runCli(${firstParameter},`)) runners.push(name);
    }
  }
  return runners;
}

/** Every word of every runner's literal argument list in the test suite, `--help` runs aside. */
async function wordsRunEndToEnd() {
  const sources = await testSources();
  const call = new RegExp(`\\b(?:${cliRunners(sources).join("|")})\\(\\s*\\[([^\\]]*)\\]`, "g");
  const words = new Set<string>();
  for (const [path, source] of sources) {
    if (!path.endsWith("_test.ts")) continue;
    for (const [, list] of source.matchAll(call)) {
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

Deno.test("the CLI runners are runCli and the helpers that pass their argument list to it", async () => {
  const runners = cliRunners(await testSources());
  assert.ok(runners.includes("runFlexCli"), runners.join(", "));
  // spawnCli starts the CLI without runCli's checks; it is not a runner of record.
  assert.ok(!runners.includes("spawnCli"), runners.join(", "));
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
