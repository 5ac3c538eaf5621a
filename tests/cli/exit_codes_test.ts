import assert from "node:assert/strict";
import { EXIT, SEVERITY, worstExitCode } from "../../src/cli/exit_codes.ts";

Deno.test("SEVERITY ranks every non-zero exit code exactly once", () => {
  const codes = Object.values(EXIT).filter((c) => c !== EXIT.OK).sort((a, b) => a - b);
  assert.deepEqual([...SEVERITY].sort((a, b) => a - b), codes);
});

Deno.test("the worst exit code: a person's fix before data refused, before unavailable, before drift, before metrics", () => {
  assert.equal(worstExitCode([]), EXIT.OK);
  assert.equal(worstExitCode([0, 0, 0]), EXIT.OK);
  assert.equal(worstExitCode([0, 0, EXIT.DRIFT]), EXIT.DRIFT);
  assert.equal(worstExitCode([EXIT.FLEX_TOKEN_EXPIRED, 0, EXIT.NOTHING_TO_RECONCILE]), 10);
  assert.equal(worstExitCode([EXIT.FLEX_UNREACHABLE, EXIT.WF_ROWS_REFUSED, EXIT.DRIFT]), 23);
  assert.equal(worstExitCode([EXIT.WF_UNAVAILABLE, EXIT.DRIFT, EXIT.METRICS_PUSH]), 20);
  assert.equal(worstExitCode([EXIT.DRIFT, EXIT.METRICS_PUSH]), EXIT.DRIFT);
  assert.equal(worstExitCode([EXIT.FLEX_REFUSED, EXIT.WF_AUTH]), EXIT.WF_AUTH);
  assert.equal(worstExitCode([EXIT.WF_AUTH, EXIT.JOURNAL]), EXIT.JOURNAL);
  assert.equal(worstExitCode([EXIT.JOURNAL, EXIT.INTERNAL]), EXIT.INTERNAL);
  // The order of the steps does not matter, only the codes.
  assert.equal(worstExitCode([EXIT.DRIFT, EXIT.FLEX_TOKEN_INVALID]), EXIT.FLEX_TOKEN_INVALID);
});

Deno.test("a code the order does not know is never ranked below a known failure", () => {
  assert.equal(worstExitCode([EXIT.JOURNAL, 99]), 99);
  assert.equal(worstExitCode([EXIT.INTERNAL, 99]), EXIT.INTERNAL);
});
