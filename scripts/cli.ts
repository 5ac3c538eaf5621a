/**
 * `deno task cli …`: runs broker-sync from source with exactly the binary's permission flags,
 * for operators who have not compiled it (e.g. a backfill from a laptop).
 */
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";

const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["run", ...PERMISSION_FLAGS, ENTRY_POINT, ...Deno.args],
  // deno task runs from the repository root; relative paths (statement files, --data-dir) mean
  // what they mean where the operator typed the command.
  cwd: Deno.env.get("INIT_CWD") ?? Deno.cwd(),
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
