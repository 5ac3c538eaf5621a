/**
 * Runs the real CLI as a subprocess, exactly as it ships: `deno run` with the binary's own
 * permission flags (scripts/permissions.ts) and a cleared environment, so neither a missing
 * permission nor the developer's own variables can hide behind the test.
 */
import { ENTRY_POINT, PERMISSION_FLAGS } from "../../scripts/permissions.ts";
import { JOURNAL_FILE } from "../../src/journal/db.ts";

/** The repository root; the CLI runs here, so relative paths (fixtures/, ../shared/) resolve. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The bundled sample statement. */
export const FIXTURE = `${REPO_ROOT}/fixtures/U1234567-2025.xml`;

/** What a CLI run gave back. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Passed as `--data-dir` (before the command, like a global flag). */
  readonly dataDir?: string;
  /** Extra environment; everything else is cleared except PATH and HOME. */
  readonly env?: Record<string, string>;
  readonly stdin?: string;
}

/**
 * Runs `broker-sync ...args`. The environment is cleared to PATH and HOME plus `env` (and
 * DENO_DIR when set, which only tells Deno where its module cache is, not broker-sync anything).
 */
export async function runCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const child = startCli(args, options);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  return decoded(await child.output());
}

/** Starts the CLI as runCli describes; stdin is piped only when `options.stdin` is given. */
function startCli(args: readonly string[], options: CliOptions): Deno.ChildProcess {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env ?? {});
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMISSION_FLAGS,
      ENTRY_POINT,
      ...(options.dataDir !== undefined ? ["--data-dir", options.dataDir] : []),
      ...args,
    ],
    cwd: REPO_ROOT,
    clearEnv: true,
    env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

function decoded({ code, stdout, stderr }: Deno.CommandOutput): CliResult {
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }
});

/** A fresh, empty data directory, removed when the test module ends. */
export async function tempDataDir(prefix = "broker-sync-test-"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  tempDirs.push(dir);
  return dir;
}

/** The journal file inside a data dir. */
export function journalFile(dataDir: string): string {
  return `${dataDir}/${JOURNAL_FILE}`;
}

/** Whether a file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The sha256 of a file's bytes, hex. */
export async function sha256OfFile(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
}

/** Parses the CLI's `--json` stdout, failing with the output when it is not JSON. */
export function parseJson<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/** One line describing a run, for assertion messages. */
export function showRun(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** A CLI run in progress, for tests that kill it midway. */
export interface SpawnedCli {
  readonly child: Deno.ChildProcess;
  /** Resolves when the process has exited (killed or not). */
  readonly result: Promise<CliResult>;
}

/** Starts `broker-sync ...args` like runCli, without waiting for it. */
export function spawnCli(
  args: readonly string[],
  options: Omit<CliOptions, "stdin"> = {},
): SpawnedCli {
  const child = startCli(args, options);
  return { child, result: child.output().then(decoded) };
}
