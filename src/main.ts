/** Entry point of the `broker-sync` binary. */
import { run } from "./cli/main.ts";

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
