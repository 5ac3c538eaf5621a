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
  // The Flex Web Service (and, later, Wealthfolio): hosts come from configuration
  // (IBKR_FLEX_BASE_URL, default IBKR's), so the permission cannot name them in advance.
  "--allow-net",
  // Only the variables broker-sync documents.
  `--allow-env=${ENV_VARS.join(",")}`,
];

/** The entry point both compile and the tests use. */
export const ENTRY_POINT = new URL("../src/main.ts", import.meta.url).pathname;
