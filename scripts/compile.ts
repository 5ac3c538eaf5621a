/**
 * `deno task compile [--target <triple>] [--dry-run]`: builds `dist/broker-sync`, the release
 * binary, with the permission flags of scripts/permissions.ts and nothing else.
 *
 * `deno compile` needs the Deno runtime (denort) for the target: it downloads it, or takes it
 * from DENORT_BIN when set. `--dry-run` prints the command instead of running it.
 */
import { ENTRY_POINT, PERMISSION_FLAGS, WORKER_MODULES } from "./permissions.ts";

/** Where the release binary is written. */
export const BINARY = new URL("../dist/broker-sync", import.meta.url).pathname;

/**
 * The `deno` arguments that build the release binary, for `target` (default: this machine),
 * written to `output` (default {@link BINARY}).
 */
export function compileArgs(
  options: { target?: string; output?: string; npmCache?: string } = {},
): string[] {
  const { target, output = BINARY, npmCache = npmCacheDir() } = options;
  return [
    "compile",
    ...PERMISSION_FLAGS,
    // The V8 code cache would be written next to the binary's temp root at run time: a write
    // outside the data dir, which a read-only root filesystem refuses. A nightly job does not
    // need the faster start.
    "--no-code-cache",
    // Embed only the npm packages main.ts reaches (test-only ones like fast-check stay out).
    // Safe because every import in src/ is static or a string-literal dynamic import.
    "--exclude-unused-npm",
    // prom-client depends on bintrees, whose package ships a 2 MB test data file that makes
    // deno compile overflow its stack while embedding it; the file is never loaded at run time.
    "--exclude",
    `${npmCache}/registry.npmjs.org/bintrees/1.0.2/test`,
    // Started as Workers, so nothing imports them statically: the binary must carry them.
    ...WORKER_MODULES.flatMap((module) => ["--include", module]),
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    // Last: anything after the entry point would become the binary's own arguments.
    ENTRY_POINT,
  ];
}

/** Where this deno keeps npm packages (DENO_DIR differs per machine and in the Docker build). */
export function npmCacheDir(): string {
  const { code, stdout } = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  if (code !== 0) throw new Error("deno info --json failed: cannot find the npm cache");
  return (JSON.parse(new TextDecoder().decode(stdout)) as { npmCache: string }).npmCache;
}

/** A shell-readable rendering of a command line. */
export function shellLine(program: string, args: readonly string[]): string {
  const quote = (arg: string) =>
    /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
  return [program, ...args].map(quote).join(" ");
}

function parseArgs(args: readonly string[]): { target?: string; dryRun: boolean } {
  let target: string | undefined;
  let dryRun = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--dry-run") dryRun = true;
    else if (arg === "--target" && args[i + 1]) target = args[++i];
    else if (arg.startsWith("--target=")) target = arg.slice("--target=".length);
    else {
      throw new Error(
        `unknown argument "${arg}" (usage: deno task compile [--target <triple>] [--dry-run])`,
      );
    }
  }
  return { target, dryRun };
}

if (import.meta.main) {
  let options;
  try {
    options = parseArgs(Deno.args);
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const args = compileArgs({ target: options.target });
  if (options.dryRun) {
    console.log(shellLine("deno", args));
    Deno.exit(0);
  }
  console.error(shellLine("deno", args));
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(code);
}
