/**
 * `deno task demo`: the main job end to end on the bundled sample data, offline. Backfills
 * `fixtures/` into a fresh temporary journal through the real CLI (same permission flags as the
 * binary), then shows `status` and the journaled activities.
 */
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const dataDir = await Deno.makeTempDir({ prefix: "broker-sync-demo-" });

async function step(title: string, args: string[]): Promise<void> {
  console.log(`\n$ broker-sync ${args.join(" ")}    # ${title}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, ENTRY_POINT, "--data-dir", dataDir, ...args],
    env: { IBKR_ACCOUNT_ID_UPSTREAM: "U1234567" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`demo step failed with exit code ${code}`);
    Deno.exit(code);
  }
}

try {
  await step("journal and map the bundled statement", ["backfill", fixtures]);
  await step("the same again: already journaled, nothing changes", ["backfill", fixtures]);
  await step("what the journal holds", ["status"]);
  await step("the mapped activities", ["activities"]);
} finally {
  if (Deno.env.get("KEEP_DEMO_JOURNAL")) console.log(`\njournal kept in ${dataDir}`);
  else await Deno.remove(dataDir, { recursive: true });
}
