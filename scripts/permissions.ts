/**
 * The one definition of the binary's permissions. `deno task compile` bakes these flags into
 * `dist/broker-sync`, and the end-to-end tests run `src/main.ts` through `deno run` with exactly
 * the same flags, so what is tested is what ships.
 */
import { ENV_VARS } from "../src/cli/config.ts";

/** Deno permission flags of broker-sync. */
export const PERMISSION_FLAGS: readonly string[] = [
  // Statement files anywhere the operator names them; the journal under the data dir.
  "--allow-read",
  "--allow-write",
  // Hosts come from configuration (PUSHGATEWAY_URL, and the services' base URLs).
  "--allow-net",
  // Only the variables broker-sync documents.
  `--allow-env=${ENV_VARS.join(",")}`,
];

/** The entry point both compile and the tests use. */
export const ENTRY_POINT = new URL("../src/main.ts", import.meta.url).pathname;

/**
 * Modules the binary starts as Workers (they run with the same permissions). `deno compile`
 * includes them explicitly, since no static import reaches them.
 */
export const WORKER_MODULES: readonly string[] = [
  new URL("../src/app/map_worker.ts", import.meta.url).pathname,
];
