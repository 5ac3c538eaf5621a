/**
 * Every broker-sync command line the operator's documents show names a command and flags the CLI
 * really has, as its own `--help` lists them: a renamed flag must not leave the runbook telling
 * someone at 2 a.m. to type something that exits 2.
 */
import assert from "node:assert/strict";
import { runCli, showRun } from "../cli/run_cli.ts";
import { codeBlocks, inlineCode, OPERATOR_DOCS, readDoc } from "./_operator_docs.ts";

/**
 * Commands the documents describe that are being added on another branch (issue 6's `sync` and
 * the `reconcile` command line), with the flags docs/cli.md gives them. Used only while
 * `--help` does not list them; once it does, `--help` is the judge.
 */
const PENDING: Readonly<Record<string, readonly string[]>> = {
  reconcile: ["--fail-on-drift"],
  sync: [],
};

/** The options one `--help` lists. */
async function helpOptions(args: string[]): Promise<Set<string>> {
  const run = await runCli([...args, "--help"]);
  assert.equal(run.code, 0, showRun(run));
  const options = run.stdout.slice(run.stdout.indexOf("\nOptions:\n"));
  return new Set(
    [...options.matchAll(/^ {2}(?:(-\w), )?(--[a-z][a-z-]*)/gm)].flatMap((m) =>
      m[1] ? [m[1], m[2]] : [m[2]]
    ),
  );
}

interface Cli {
  readonly global: Set<string>;
  readonly commands: Map<string, Set<string>>;
}

async function cli(): Promise<Cli> {
  const root = await runCli(["--help"]);
  assert.equal(root.code, 0, showRun(root));
  const list = root.stdout.slice(root.stdout.indexOf("\nCommands:\n"));
  const names = [...list.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1])
    .filter((name) => name !== "help");
  const commands = new Map<string, Set<string>>();
  for (const name of names) commands.set(name, await helpOptions([name]));
  return { global: await helpOptions([]), commands };
}

/** One broker-sync invocation found in a document. */
interface Invocation {
  readonly where: string;
  readonly text: string;
  readonly args: readonly string[];
}

/** Global options that take a value (the value is not the command). */
const GLOBAL_WITH_VALUE = new Set(["--data-dir", "--account", "--log-format"]);

/** Shell text → simple commands: split at pipes, lists, substitutions; comments dropped. */
function simpleCommands(snippet: string): string[] {
  return snippet.replaceAll(/\\\n/g, " ").split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, ""))
    .flatMap((line) => line.split(/\|\||&&|[|;`()]|\$\(/));
}

/** The arguments given to broker-sync by a simple command, or null when it runs something else. */
function brokerSyncArgs(command: string, shellFunctions: boolean): string[] | null {
  const words = command.trim().split(/\s+/).filter((w) => w !== "");
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift();
  if (words.length === 0) return null;
  if (/^(?:\.?\/?dist\/|\/usr\/local\/bin\/)?broker-sync$/.test(words[0])) return words.slice(1);
  if (shellFunctions && words[0] === "bs") return words.slice(1);
  const task = words.indexOf("task");
  if (task >= 0 && words[task + 1] === "cli" && /^(?:deno|npx)$/.test(words[0])) {
    return words.slice(task + 2);
  }
  if (words[0] === "docker" && words[1] === "run") {
    const image = words.findIndex((w) => /^(?:[\w.-]+\/)*broker-sync:\S+$/.test(w));
    if (image >= 0) return words.slice(image + 1);
  }
  return null;
}

/**
 * Every invocation in a document: code blocks (with the `bs` helper) and inline code, where prose
 * may also name a command with its flags alone (`backfill --from`, `import --retry-failed`).
 */
export function invocations(
  path: string,
  markdown: string,
  commandNames: ReadonlySet<string>,
): Invocation[] {
  const found: Invocation[] = [];
  const add = (snippet: string, shellFunctions: boolean) => {
    for (const command of simpleCommands(snippet)) {
      const args = brokerSyncArgs(command, shellFunctions);
      if (args) found.push({ where: path, text: command.trim(), args });
    }
  };
  for (const block of codeBlocks(markdown)) add(block, true);
  for (const span of inlineCode(markdown)) {
    const words = span.trim().split(/\s+/);
    if (commandNames.has(words[0]) && words[1]?.startsWith("-")) {
      found.push({ where: path, text: span.trim(), args: words });
    } else {
      add(span, /^bs /.test(span));
    }
  }
  return found;
}

/** What is wrong with an invocation, or null. */
export function problem(invocation: Invocation, cli: Cli): string | null {
  const words = invocation.args.map((w) => w.replace(/^\[|\]$/g, "")).filter((w) => w !== "");
  let i = 0;
  const unknownGlobal = () => `unknown global option ${words[i]}`;
  while (i < words.length && words[i].startsWith("-")) {
    const flag = words[i].split("=")[0];
    if (!cli.global.has(flag)) return unknownGlobal();
    i += GLOBAL_WITH_VALUE.has(flag) && !words[i].includes("=") ? 2 : 1;
  }
  const command = words[i];
  // A placeholder (`…`, `<command>`) or a bare global flag (`--version`) names no command.
  if (command === undefined || !/^[a-z][a-z-]*$/.test(command)) return null;
  const offered = cli.commands.get(command);
  const options = offered ?? (command in PENDING ? new Set(PENDING[command]) : null);
  if (!options) return `no command "${command}"`;
  for (const word of words.slice(i + 1)) {
    if (word === "-" || word === "--" || !word.startsWith("-")) continue;
    const flag = word.split("=")[0];
    if (!options.has(flag) && !cli.global.has(flag)) return `${command} has no option ${flag}`;
  }
  return null;
}

const known = await cli();
const commandNames = new Set([...known.commands.keys(), ...Object.keys(PENDING)]);

Deno.test("every broker-sync command line in the operator's documents is one the CLI accepts", async () => {
  const wrong: string[] = [];
  const checked: Invocation[] = [];
  for (const path of OPERATOR_DOCS) {
    for (const invocation of invocations(path, await readDoc(path), commandNames)) {
      checked.push(invocation);
      const why = problem(invocation, known);
      if (why) wrong.push(`${invocation.where}: \`${invocation.text}\`: ${why}`);
    }
  }
  assert.deepEqual(wrong, []);
  // The parser found the runbook's own procedures, not nothing.
  const texts = checked.map((c) => c.text);
  for (
    const expected of [
      "broker-sync verify-token --token-file - --expires-on 2027-12-31 --warn-days 30",
      "broker-sync backfill --from 2023-01-01 --no-push",
      "broker-sync import --dry-run",
      "bs backfill /data/remap --no-push --json",
      "reconcile --fail-on-drift",
    ]
  ) {
    assert.ok(texts.includes(expected), `not found: ${expected}`);
  }
  assert.ok(checked.length >= 40, `only ${checked.length} command lines found`);
});

Deno.test("a wrong flag, a wrong command or a wrong global flag is caught", () => {
  const cases: [string, RegExp][] = [
    ["broker-sync verify-token --token-fil -", /verify-token has no option --token-fil/],
    ["vault kv get x | broker-sync verfy-token", /no command "verfy-token"/],
    ["BROKER_SYNC_DATA_DIR=x broker-sync --data status", /unknown global option --data/],
    [
      "npx -y deno@2.9.6 task cli fetch --overlap=3 --since 2025-01-01",
      /fetch has no option --since/,
    ],
    ["bs backfill --from 2023-01-01 --push", /backfill has no option --push/],
    ["broker-sync sync --fail-on-drift", /sync has no option --fail-on-drift/],
  ];
  // Prose naming a command with a flag it does not have.
  const [prose] = invocations("example.md", "run `import --retry`", commandNames);
  assert.match(problem(prose, known) ?? "", /import has no option --retry/);
  for (const [line, expected] of cases) {
    const found = invocations("example.md", "```sh\n" + line + "\n```\n", commandNames);
    assert.equal(found.length, 1, line);
    const why = problem(found[0], known);
    assert.ok(why !== null && expected.test(why), `${line}: ${why}`);
  }
  // Global options may come before or after the command, with their values.
  for (
    const line of [
      "broker-sync --data-dir /data --json status",
      "broker-sync status --json",
      "dist/broker-sync --version",
    ]
  ) {
    const [found] = invocations("example.md", "`" + line + "`", commandNames);
    assert.equal(problem(found, known), null, line);
  }
});
