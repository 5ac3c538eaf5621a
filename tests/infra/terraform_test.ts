/**
 * The Terraform module, as far as it can be checked without downloading providers (`terraform
 * validate` needs them): its variables are consistent, and Terraform reads the rule file into
 * the rules promtool tested. `terraform fmt -check` is a gate in .ci/run.
 */
import assert from "node:assert/strict";
import { RULES_FILE } from "../../scripts/alerts.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";
import { onPath } from "../support/tools.ts";

const MODULE = `${REPO_ROOT}/infra/terraform/broker-sync-ibkr`;

async function moduleText(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(MODULE)) {
    if (entry.name.endsWith(".tf")) {
      files.set(entry.name, await Deno.readTextFile(`${MODULE}/${entry.name}`));
    }
  }
  return files;
}

Deno.test("every variable the module uses is declared, and every declared one is used", async () => {
  const files = await moduleText();
  const declared = new Set(
    [...files.get("variables.tf")!.matchAll(/^variable "(\w+)"/gm)].map((m) => m[1]),
  );
  const used = new Set(
    [...files.values()].flatMap((text) => [...text.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1])),
  );
  assert.deepEqual([...used].filter((v) => !declared.has(v)), [], "used but not declared");
  assert.deepEqual([...declared].filter((v) => !used.has(v)), [], "declared but never used");
  assert.ok(declared.has("image"));
});

Deno.test({
  name: "Terraform reads the rule file into the alerts promtool tested",
  ignore: !(await onPath("terraform")),
  fn: async () => {
    const alerts = [...(await Deno.readTextFile(RULES_FILE)).matchAll(/^\s*- alert: (\w+)$/gm)]
      .map((m) => m[1]);
    const dir = await Deno.makeTempDir({ prefix: "broker-sync-terraform-" });
    try {
      // The same expression as main.tf's local.alert_rules, in an empty (provider-free) config.
      const child = new Deno.Command("terraform", {
        args: ["console"],
        cwd: dir,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(
        `join(",", [for r in yamldecode(file("${RULES_FILE}")).groups[0].rules : r.alert])\n`,
      ));
      await writer.close();
      const { code, stdout, stderr } = await child.output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.equal(new TextDecoder().decode(stdout).trim(), `"${alerts.join(",")}"`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
