/**
 * `deno task demo`, the README's first command: the nightly `sync` end to end on the bundled
 * sample data against the in-process stand-ins, as a newcomer runs it.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../cli/run_cli.ts";

Deno.test("deno task demo runs sync end to end: the sample's drift, the operator's fix, zero drift", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "demo"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `${out}\n${err}`);
  const text = out.split("\n").map((l) => l.trim().replaceAll(/\s+/g, " "));
  // The first night: imported, and exactly the skipped rebate's 0.5 GBP drifts.
  assert.ok(text.includes("== import: ok"), out);
  assert.ok(text.some((l) => /^created: 13 \(/.test(l)), out);
  assert.ok(text.includes("GBP 695.2575 694.7575 0.5 DIFFERS"), out);
  assert.ok(text.includes("== reconcile: DRIFT (exit 30)"), out);
  // After the rebate is booked by hand: the books agree and the run exits 0.
  assert.ok(text.includes("GBP 695.2575 695.2575 0 ok"), out);
  assert.ok(text.includes("all 1 account(s) agree"), out);
  assert.match(out, /^last successful sync: \S+ \(run \d+\)$/m);
  // With a Pushgateway (CI installs one) its series are shown; without, the demo says so.
  assert.ok(
    out.includes('ibkr_cash_drift{account="U1234567",currency="GBP",job="broker-sync-ibkr"} 0') ||
      out.includes("prometheus-pushgateway is not installed"),
    out,
  );
});
