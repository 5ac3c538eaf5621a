/**
 * `deno task compile`: builds `dist/broker-sync` with the permission flags of
 * scripts/permissions.ts. Needs the Deno runtime for the target (downloaded by `deno compile`, or
 * taken from DENORT_BIN when set, as in the Dockerfile's build stage).
 */
import { ENTRY_POINT, PERMISSION_FLAGS, WORKER_MODULES } from "./permissions.ts";

const target = Deno.args[0] ? ["--target", Deno.args[0]] : [];
const args = [
  "compile",
  ...PERMISSION_FLAGS,
  // Started as a Worker, so nothing imports it statically: the binary must carry it.
  ...WORKER_MODULES.flatMap((module) => ["--include", module]),
  ...target,
  "--output",
  "dist/broker-sync",
  ENTRY_POINT,
];
console.error(`deno ${args.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
