/**
 * The alert rules, checked and unit-tested by promtool (Debian's `prometheus` package), and kept
 * as one definition: the PrometheusRule manifest carries exactly the rule file.
 */
import assert from "node:assert/strict";
import { MANIFEST_FILE, prometheusRuleManifest, RULES_FILE } from "../../scripts/alerts.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";

const RULE_TESTS = `${REPO_ROOT}/infra/alerts/ibkr.rules.test.yaml`;
const RUNBOOK = `${REPO_ROOT}/docs/providers/ibkr.md`;

async function promtool(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command("promtool", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

const rules = await Deno.readTextFile(RULES_FILE);
const alertNames = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]);

Deno.test("promtool check rules accepts the rule file", async () => {
  const run = await promtool("check", "rules", RULES_FILE);
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, new RegExp(`SUCCESS: ${alertNames.length} rules found`));
});

Deno.test("promtool test rules: each alert fires when it should and only then", async () => {
  const run = await promtool("test", "rules", RULE_TESTS);
  assert.equal(run.code, 0, run.output);
  // Every alert has at least one case that expects it to fire.
  const tests = await Deno.readTextFile(RULE_TESTS);
  for (const name of alertNames) {
    assert.match(
      tests,
      new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`),
      name,
    );
  }
});

Deno.test("the unit tests catch an alert that fires too early", async () => {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-alerts-" });
  try {
    const hasty = rules.replace(/^(\s+)for: 24h$/m, "$1for: 1h");
    assert.notEqual(hasty, rules);
    await Deno.writeTextFile(`${dir}/ibkr.rules.yaml`, hasty);
    await Deno.copyFile(RULE_TESTS, `${dir}/ibkr.rules.test.yaml`);
    const run = await promtool("test", "rules", `${dir}/ibkr.rules.test.yaml`);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /alertname: IBKRPositionDrift, time: 23h/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the alerts of the issue exist", () => {
  for (
    const name of [
      "IBKRPositionDrift",
      "IBKRCashDrift",
      "IBKRSyncStale",
      "IBKRFlexTokenExpiringSoon",
      "IBKRFlexTokenExpired",
    ]
  ) {
    assert.ok(alertNames.includes(name), name);
  }
});

Deno.test("the PrometheusRule manifest carries exactly the rule file (deno task alerts)", async () => {
  const manifest = await Deno.readTextFile(MANIFEST_FILE);
  assert.equal(manifest, prometheusRuleManifest(rules), "run `deno task alerts`");
  // What kustomize applies is what promtool tested: the spec, de-indented, is the rule file.
  const spec = manifest.slice(manifest.indexOf("\nspec:\n") + "\nspec:\n".length)
    .split("\n").map((line) => line.slice(2)).join("\n");
  assert.equal(spec, rules.slice(rules.indexOf("groups:")));
});

Deno.test("the runbook documents every alert and every metric the rules use", async () => {
  const runbook = await Deno.readTextFile(RUNBOOK);
  const metrics = new Set([...rules.matchAll(/\b(ibkr_[a-z_]+)\b/g)].map((m) => m[1]));
  assert.ok(metrics.size >= 5, [...metrics].join(", "));
  for (const name of [...alertNames, ...metrics]) {
    assert.ok(runbook.includes(`\`${name}`), `${name} is not in docs/providers/ibkr.md`);
  }
});
