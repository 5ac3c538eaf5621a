/**
 * The runbook's reference tables say what the code does: every exit code, every Flex error code
 * with the exit code it really ends in, every metric with its labels as registered, every alert of
 * the rule file, every variable and Vault key the CronJob reads. A code or metric added without its
 * line in the runbook fails here.
 */
import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import { RULES_FILE } from "../../scripts/alerts.ts";
import { ENV_VARS } from "../../src/cli/config.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { REFUSAL_EXIT } from "../../src/cli/failure.ts";
import {
  FLEX_CODES,
  type FlexCodeRule,
  isRetryable,
  UNKNOWN_CODE_RULE,
} from "../../src/flex/service_codes.ts";
import { metricsGroups } from "../../src/metrics/registry.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";
import { OPERATOR_DOCS, readDoc, section, tableRows } from "./_operator_docs.ts";

const RUNBOOK = await readDoc("docs/providers/ibkr.md");

/** The names in a cell: `a`, `b` → [a, b]. */
function codeNames(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

Deno.test("the runbook's exit-code table lists every exit code, and no other", () => {
  const rows = tableRows(section(RUNBOOK, "Exit codes"));
  const documented = rows.map((r) => Number(r[0])).sort((a, b) => a - b);
  const real = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
  assert.deepEqual(documented, real);
  assert.match(section(RUNBOOK, "Exit codes"), /`sync` exits with the worst code of its steps/);
});

/** The exit code a Flex answer ends a run with, when it ends it. */
function exitOf(rule: FlexCodeRule): number {
  switch (rule.class) {
    case "retry":
    case "generating":
    case "throttled":
      return EXIT.FLEX_UNREACHABLE; // retried until the deadline
    case "restart":
      return EXIT.FLEX_REFUSED; // the second time
    default:
      return REFUSAL_EXIT[rule.class];
  }
}

Deno.test("every Flex error code is in the runbook with the exit code it ends in", () => {
  const rows = tableRows(section(RUNBOOK, "Flex Web Service error codes"));
  const byCode = new Map(rows.map((r) => [r[0], r]));
  const wrong: string[] = [];
  for (const [code, rule] of Object.entries(FLEX_CODES)) {
    const row = byCode.get(code);
    if (!row) {
      wrong.push(`${code}: no row`);
      continue;
    }
    const [, , does, exit] = row;
    if (!new RegExp(`\\b${exitOf(rule)}\\b`).test(exit)) {
      wrong.push(`${code}: exit "${exit}", the code gives ${exitOf(rule)}`);
    }
    if (!isRetryable(rule) && rule.class !== "restart" && !/^stops/.test(does)) {
      wrong.push(`${code}: fatal, but the runbook says "${does}"`);
    }
    if (isRetryable(rule) && /^stops/.test(does)) {
      wrong.push(`${code}: retried, but the runbook says "${does}"`);
    }
  }
  const other = byCode.get("any other");
  assert.ok(other, "no row for codes broker-sync does not know");
  assert.match(other[3], new RegExp(`\\b${exitOf(UNKNOWN_CODE_RULE)}\\b`));
  assert.deepEqual(wrong, []);
});

Deno.test("the runbook's metrics table is what a run registers, names and labels", async () => {
  const run = metricsGroups({
    job: "broker-sync-ibkr",
    command: "sync",
    accounts: [{
      account: "U1234567",
      positionDrift: [{ symbol: "VUAG.L", drift: new Decimal("0.5") }],
      cashDrift: [{ currency: "GBP", drift: new Decimal("-1.25") }],
      activities: { pushed: 3 },
      skippedRows: { "unknown-cash-type:Fees Rebate": 1 },
    }],
    flexErrors: { "1019": 2 },
    durationSeconds: 4.5,
    exitCode: 0,
    lastSuccess: new Date("2026-11-20T02:00:05Z"),
    tokenExpiry: new Date("2027-06-30T00:00:00Z"),
  });
  const registered = new Map<string, string[]>();
  for (const metric of await run[0].registry.getMetricsAsJSON()) {
    registered.set(metric.name, Object.keys(metric.values[0]?.labels ?? {}).sort());
  }
  const documented = new Map<string, string[]>();
  for (const row of tableRows(section(RUNBOOK, "Metrics and alerts"))) {
    const [name] = codeNames(row[0]);
    if (name?.startsWith("ibkr_")) documented.set(name, codeNames(row[1]).sort());
  }
  assert.deepEqual(documented, registered);
});

Deno.test("the runbook's alerts table is the rule file's alerts, with their Flex codes", async () => {
  const rules = await Deno.readTextFile(RULES_FILE);
  const alerts = new Map(
    [...rules.matchAll(/^\s*- alert: (\w+)\n\s+expr: (.+)$/gm)].map((m) => [m[1], m[2]]),
  );
  const rows = tableRows(section(RUNBOOK, "Metrics and alerts"))
    .filter((r) => codeNames(r[0])[0]?.startsWith("IBKR"));
  assert.deepEqual(rows.map((r) => codeNames(r[0])[0]).sort(), [...alerts.keys()].sort());
  for (const row of rows) {
    const expr = alerts.get(codeNames(row[0])[0])!;
    for (const [code] of expr.matchAll(/\b10\d\d\b/g)) {
      assert.match(row[1], new RegExp(code), `${row[0]} fires on ${code}`);
    }
  }
});

Deno.test("every environment variable the operator's documents name is one broker-sync reads", async () => {
  const known = new Set<string>(ENV_VARS);
  const invented: string[] = [];
  for (const path of OPERATOR_DOCS) {
    const text = await readDoc(path);
    for (const [name] of text.matchAll(/\b(?:IBKR|WF|BROKER_SYNC|PUSHGATEWAY)_[A-Z_]*[A-Z]\b/g)) {
      if (!known.has(name)) invented.push(`${path}: ${name}`);
    }
  }
  assert.deepEqual([...new Set(invented)], []);
});

Deno.test("the runbook's Vault table is what the CronJob reads from broker-sync-secrets", async () => {
  const cronjob = await Deno.readTextFile(`${REPO_ROOT}/infra/k8s/cronjob.yaml`);
  const fromSecret = [
    ...cronjob.matchAll(
      /- name: (\w+)\n(?:\s+#.*\n)?\s+valueFrom:\n\s+secretKeyRef:\n\s+name: broker-sync-secrets\n\s+key: (\w+)(\n\s+optional: true)?/g,
    ),
  ].map((m) => `${m[2]} ${m[1]} ${m[3] ? "no" : "yes"}`).sort();
  assert.ok(fromSecret.length >= 8, fromSecret.join("\n"));
  const documented = tableRows(section(RUNBOOK, "Secrets (Vault `secret/broker-sync`)"))
    .map((r) => `${codeNames(r[0])[0]} ${codeNames(r[1])[0]} ${r[2]}`).sort();
  assert.deepEqual(documented, fromSecret);
});
