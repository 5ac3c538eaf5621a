/**
 * A module started as a Worker is reached by no static import, so `deno compile` leaves it out
 * unless scripts/compile.ts passes it with `--include` (from WORKER_MODULES). A binary without it
 * would wait for a worker that never starts: every Worker the source starts must be listed.
 */
import assert from "node:assert/strict";
import { WORKER_MODULES } from "../../scripts/permissions.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";
import { filesUnder } from "../support/files.ts";

Deno.test("every module the source starts as a Worker is included in the compiled binary", () => {
  const started: string[] = [];
  for (const file of filesUnder(`${REPO_ROOT}/src`, ".ts")) {
    const text = Deno.readTextFileSync(file);
    for (const m of text.matchAll(/new Worker\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url/g)) {
      started.push(new URL(m[1], `file://${file}`).pathname);
    }
    assert.doesNotMatch(
      text.replaceAll(/new Worker\(\s*new URL\(\s*"[^"]+",\s*import\.meta\.url/g, ""),
      /new Worker\(/,
      `${file} starts a Worker this test cannot see the module of`,
    );
  }
  assert.ok(started.length > 0, "the source starts at least one Worker");
  assert.deepEqual([...new Set(started)].sort(), [...WORKER_MODULES].sort());
  for (const module of WORKER_MODULES) assert.ok(Deno.statSync(module).isFile, module);
});
