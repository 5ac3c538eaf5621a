import assert from "node:assert/strict";
import { PERMISSION_FLAGS } from "../../scripts/permissions.ts";
import { ENV_VARS, loadConfig } from "../../src/cli/config.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { lines, runCli, showRun, tempDataDir } from "./run_cli.ts";

Deno.test("PUSHGATEWAY_URL is a documented variable the binary may read, and it may reach the network", () => {
  assert.ok(ENV_VARS.includes("PUSHGATEWAY_URL"));
  assert.ok(
    PERMISSION_FLAGS.some((f) => f.startsWith("--allow-env=") && f.includes("PUSHGATEWAY_URL")),
  );
  assert.ok(PERMISSION_FLAGS.includes("--allow-net"));
});

Deno.test("PUSHGATEWAY_URL unset means no Pushgateway; set, it is kept as given", () => {
  assert.equal(loadConfig({}, () => undefined).pushgatewayUrl, null);
  const env: Record<string, string> = { PUSHGATEWAY_URL: "http://pushgateway.monitoring:9091" };
  assert.equal(loadConfig({}, (n) => env[n]).pushgatewayUrl, "http://pushgateway.monitoring:9091");
});

Deno.test("a PUSHGATEWAY_URL that is not an http(s) URL is a usage error naming the variable", async () => {
  const dataDir = await tempDataDir();
  for (const value of ["pushgateway:9091 ", "ftp://pg:21"]) {
    const result = await runCli(["status"], { dataDir, env: { PUSHGATEWAY_URL: value } });
    assert.equal(result.code, EXIT.USAGE, showRun(result));
    assert.deepEqual(lines(result.stderr).length, 1, showRun(result));
    assert.match(result.stderr, /^broker-sync: PUSHGATEWAY_URL: /);
  }
});

Deno.test("a PUSHGATEWAY_URL password with a stray % is a usage error that does not quote it", async () => {
  const dataDir = await tempDataDir();
  const result = await runCli(["status"], {
    dataDir,
    env: { PUSHGATEWAY_URL: "http://metrics:50%off-secret@pushgateway:9091" },
  });
  assert.equal(result.code, EXIT.USAGE, showRun(result));
  assert.deepEqual(lines(result.stderr), [
    "broker-sync: PUSHGATEWAY_URL: the user or password has a % that starts no escape; write % as %25",
  ]);
});
