/**
 * `deno task alerts`: writes infra/k8s/prometheusrule.yaml from infra/alerts/ibkr.rules.yaml.
 *
 * The rule file is the one definition of the alerts: promtool tests it as it is, Terraform loads
 * it, and the PrometheusRule of the plain manifests carries it as its `spec` (a PrometheusRule's
 * spec has exactly a rule file's shape). tests/infra/alerts_test.ts fails when they differ.
 */

/** The rule file: plain Prometheus rule groups. */
export const RULES_FILE = new URL("../infra/alerts/ibkr.rules.yaml", import.meta.url).pathname;

/** The PrometheusRule manifest kustomize builds. */
export const MANIFEST_FILE = new URL("../infra/k8s/prometheusrule.yaml", import.meta.url).pathname;

/**
 * The PrometheusRule manifest for a rule file: its leading comment block dropped, the rest
 * indented under `spec:`.
 *
 * @example prometheusRuleManifest("# c\ngroups: []\n") // ends with "spec:\n  groups: []\n"
 */
export function prometheusRuleManifest(rules: string): string {
  const lines = rules.split("\n");
  const start = lines.findIndex((line) => line !== "" && !line.startsWith("#"));
  const spec = lines.slice(start).map((line) => line === "" ? "" : `  ${line}`).join("\n");
  return [
    "# Generated from infra/alerts/ibkr.rules.yaml by `deno task alerts`: edit that file instead.",
    "apiVersion: monitoring.coreos.com/v1",
    "kind: PrometheusRule",
    "metadata:",
    "  name: broker-sync-ibkr",
    "  namespace: broker-sync",
    "  labels:",
    "    app.kubernetes.io/name: broker-sync",
    "    app.kubernetes.io/component: ibkr",
    "spec:",
    spec,
  ].join("\n");
}

if (import.meta.main) {
  await Deno.writeTextFile(
    MANIFEST_FILE,
    prometheusRuleManifest(await Deno.readTextFile(RULES_FILE)),
  );
  console.error(`wrote ${MANIFEST_FILE}`);
}
