/**
 * The deployment as declared twice: the plain manifests (built with `kubectl kustomize`, as CI
 * does) and the Terraform module must describe the same CronJob, and it must be one the binary
 * can actually run: every variable it sets is one broker-sync may read.
 */
import assert from "node:assert/strict";
import { ENV_VARS } from "../../src/cli/config.ts";
import { VERSION } from "../../src/version.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";
import { codeBlocks, readDoc } from "../release/_operator_docs.ts";

const TERRAFORM = `${REPO_ROOT}/infra/terraform/broker-sync-ibkr`;

/** `kubectl kustomize <dir>` (infra/k8s by default), split into its objects by kind. */
async function kustomize(dir = `${REPO_ROOT}/infra/k8s`): Promise<Map<string, string>> {
  const { code, stdout, stderr } = await new Deno.Command("kubectl", {
    args: ["kustomize", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `kubectl kustomize failed: ${new TextDecoder().decode(stderr)}`);
  const objects = new Map<string, string>();
  for (const doc of new TextDecoder().decode(stdout).split(/^---$/m)) {
    const kind = doc.match(/^kind: (\S+)$/m)?.[1];
    assert.ok(kind, `an object without a kind:\n${doc}`);
    assert.ok(!objects.has(kind), `two objects of kind ${kind}`);
    objects.set(kind, doc);
  }
  return objects;
}

const built = await kustomize();
const cronJob = built.get("CronJob")!;
const mainTf = await Deno.readTextFile(`${TERRAFORM}/main.tf`);
const variablesTf = await Deno.readTextFile(`${TERRAFORM}/variables.tf`);

/** One field's scalar value in a built object (the first occurrence), unquoted. */
function field(doc: string, name: string): string {
  const value = doc.match(new RegExp(`^\\s*(?:- )?${name}: (.+)$`, "m"))?.[1];
  assert.ok(value !== undefined, `no ${name} in:\n${doc}`);
  return value.replace(/^["'](.*)["']$/, "$1");
}

interface EnvEntry {
  readonly value: string | null;
  readonly secretKey: string | null;
  readonly optional: boolean;
}

/** The container's env list of the built CronJob, by variable name. */
function manifestEnv(): Map<string, EnvEntry> {
  const lines = cronJob.split("\n");
  const start = lines.findIndex((l) => /^\s*env:$/.test(l));
  assert.ok(start >= 0, "the CronJob sets no env");
  const itemIndent = lines[start + 1].search(/\S/);
  const entries = new Map<string, EnvEntry>();
  let name = "";
  for (const line of lines.slice(start + 1)) {
    const indent = line.search(/\S/);
    if (indent < itemIndent || (indent === itemIndent && !line.trimStart().startsWith("- "))) break;
    const own = line.match(/^\s*- name: (\S+)$/);
    if (indent === itemIndent && own) {
      name = own[1];
      entries.set(name, { value: null, secretKey: null, optional: false });
      continue;
    }
    const entry = entries.get(name)!;
    const value = line.match(/^\s*value: (.+)$/)?.[1];
    const key = line.match(/^\s*key: (\S+)$/)?.[1];
    if (value !== undefined) entries.set(name, { ...entry, value });
    if (key !== undefined) entries.set(name, { ...entry, secretKey: key });
    if (/^\s*optional: true$/.test(line)) entries.set(name, { ...entry, optional: true });
  }
  return entries;
}

/** The Terraform module's env: `local.env_values` and `local.env_secrets`. */
function terraformEnv(): Map<string, EnvEntry> {
  const block = (name: string) => {
    const body = mainTf.match(new RegExp(`^  ${name} = \\{\\n([\\s\\S]*?)\\n  \\}$`, "m"))?.[1];
    assert.ok(body, `no local.${name} in main.tf`);
    return body;
  };
  const entries = new Map<string, EnvEntry>();
  for (const [, name, value] of block("env_values").matchAll(/^\s*([A-Z0-9_]+)\s*=\s*(.+)$/gm)) {
    entries.set(name, { value: terraformValue(value), secretKey: null, optional: false });
  }
  const secret = /^\s*([A-Z0-9_]+)\s*=\s*\{ key = "([a-z0-9_]+)", optional = (true|false) \}$/gm;
  for (const [, name, key, optional] of block("env_secrets").matchAll(secret)) {
    entries.set(name, { value: null, secretKey: key, optional: optional === "true" });
  }
  return entries;
}

/** The default of a module variable, as a string (null when it has none). */
function terraformDefault(variable: string): string | null {
  const body = variablesTf.split(/^variable /m).find((b) => b.startsWith(`"${variable}"`));
  assert.ok(body, `no variable ${variable}`);
  const value = body.match(/^\s*default\s*=\s*(.+)$/m)?.[1];
  return value === undefined ? null : terraformValue(value);
}

/** A literal or a `var.x` reference, resolved to the variable's default. */
function terraformValue(expression: string): string {
  const reference = expression.match(/^var\.(\w+)$/);
  if (reference) return terraformDefault(reference[1]) ?? `<${expression}>`;
  return expression.replace(/^"(.*)"$/, "$1");
}

Deno.test("kubectl kustomize builds the CronJob, its volume claim, ExternalSecret and alerts", () => {
  assert.deepEqual(
    [...built.keys()].sort(),
    ["CronJob", "ExternalSecret", "Namespace", "PersistentVolumeClaim", "PrometheusRule"],
  );
  for (const doc of built.values()) {
    if (!doc.includes("kind: Namespace")) assert.equal(field(doc, "namespace"), "broker-sync");
  }
  assert.equal(field(cronJob, "name"), "broker-sync-ibkr");
});

Deno.test("the CronJob runs sync nightly at 02:00 London time, one run at a time", () => {
  assert.equal(field(cronJob, "schedule"), "0 2 * * *");
  assert.equal(field(cronJob, "timeZone"), "Europe/London");
  assert.equal(field(cronJob, "concurrencyPolicy"), "Forbid");
  assert.match(cronJob, /^\s*(?:- )?args:\n\s*- sync\n/m);
  for (const limit of ["startingDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"]) {
    assert.ok(Number(field(cronJob, limit)) > 0, limit);
  }
  assert.equal(field(cronJob, "successfulJobsHistoryLimit"), "3");
  assert.equal(field(cronJob, "failedJobsHistoryLimit"), "5");
  assert.equal(field(cronJob, "image"), `viktorbarzin/broker-sync:${VERSION}`);
});

Deno.test("the CronJob's pod is nonroot with a read-only root and the seed's resources", () => {
  assert.equal(field(cronJob, "runAsNonRoot"), "true");
  assert.equal(field(cronJob, "runAsUser"), "65532");
  assert.equal(field(cronJob, "readOnlyRootFilesystem"), "true");
  assert.equal(field(cronJob, "allowPrivilegeEscalation"), "false");
  assert.match(cronJob, /requests:\n\s+cpu: 20m\n\s+memory: 128Mi\n/);
  assert.match(cronJob, /limits:\n\s+memory: 256Mi\n/);
});

Deno.test("the journal's data dir is the mounted volume claim", () => {
  const env = manifestEnv();
  assert.equal(env.get("BROKER_SYNC_DATA_DIR")?.value, "/data");
  assert.equal(field(cronJob, "mountPath"), "/data");
  assert.ok(env.get("WF_SESSION_PATH")?.value?.startsWith("/data/"), "the session is written too");
  const claim = field(built.get("PersistentVolumeClaim")!, "name");
  assert.equal(field(cronJob, "claimName"), claim);
});

Deno.test("every variable the CronJob sets is one the binary is allowed to read", () => {
  const readable = new Set<string>(ENV_VARS);
  const unreadable = [...manifestEnv().keys()].filter((name) => !readable.has(name));
  assert.deepEqual(unreadable, [], "add them to ENV_VARS in src/cli/config.ts, or drop them");
});

Deno.test("the credentials come from the ExternalSecret's Secret, filled from Vault secret/broker-sync", () => {
  const externalSecret = built.get("ExternalSecret")!;
  const secretName = field(externalSecret, "name");
  assert.equal(secretName, "broker-sync-secrets");
  assert.match(externalSecret, /target:\n(\s+\S.*\n)*?\s+name: broker-sync-secrets\n/);
  assert.match(externalSecret, /extract:\n\s+key: broker-sync\n/);
  const refs = [...cronJob.matchAll(/secretKeyRef:\n(?:\s+\S.*\n)*?\s+name: (\S+)\n/g)];
  assert.ok(refs.length >= 5);
  for (const [, name] of refs) assert.equal(name, secretName);
  assert.equal(manifestEnv().get("IBKR_FLEX_TOKEN")?.secretKey, "ibkr_flex_token");
});

Deno.test("a multi-account or passwordless deployment starts: only keys every run needs are required", () => {
  const env = manifestEnv();
  assert.equal(env.get("IBKR_ACCOUNTS")?.secretKey, "ibkr_accounts");
  const required = [...env.values()].filter((e) => e.secretKey !== null && !e.optional)
    .map((e) => e.secretKey).sort();
  // A missing required key is CreateContainerConfigError, so none of the optional ones may be here.
  assert.deepEqual(required, [
    "ibkr_account_id_upstream",
    "ibkr_flex_query_id",
    "ibkr_flex_token",
    "wf_base_url",
  ]);
  // An absent optional key must not fail the sync: extract copies the keys Vault has, where a
  // `data` entry per key would fail on a missing one.
  assert.doesNotMatch(built.get("ExternalSecret")!, /^\s*data:/m);
});

Deno.test("Terraform declares the same env, secret keys and optional keys as the manifests", () => {
  const manifest = [...manifestEnv()].sort(([a], [b]) => a.localeCompare(b));
  const terraform = [...terraformEnv()].sort(([a], [b]) => a.localeCompare(b));
  assert.deepEqual(terraform, manifest);
});

Deno.test("Terraform's defaults are the manifests' values", () => {
  const pairs: [string, string][] = [
    ["schedule", field(cronJob, "schedule")],
    ["timezone", field(cronJob, "timeZone")],
    ["starting_deadline_seconds", field(cronJob, "startingDeadlineSeconds")],
    ["active_deadline_seconds", field(cronJob, "activeDeadlineSeconds")],
    ["backoff_limit", field(cronJob, "backoffLimit")],
    ["ttl_seconds_after_finished", field(cronJob, "ttlSecondsAfterFinished")],
    ["successful_jobs_history_limit", field(cronJob, "successfulJobsHistoryLimit")],
    ["failed_jobs_history_limit", field(cronJob, "failedJobsHistoryLimit")],
    ["cpu_request", field(cronJob, "cpu")],
    ["memory_request", cronJob.match(/requests:\n(?:\s+\S.*\n)*?\s+memory: (\S+)/)![1]],
    ["memory_limit", cronJob.match(/limits:\n\s+memory: (\S+)/)![1]],
    ["data_claim_name", field(cronJob, "claimName")],
    ["data_storage_size", field(built.get("PersistentVolumeClaim")!, "storage")],
    ["secret_name", field(built.get("ExternalSecret")!, "name")],
    ["vault_key", built.get("ExternalSecret")!.match(/extract:\n\s+key: (\S+)/)![1]],
    [
      "secret_store_name",
      built.get("ExternalSecret")!.match(/secretStoreRef:\n(?:\s+\S.*\n)*?\s+name: (\S+)/)![1],
    ],
    ["secret_refresh_interval", field(built.get("ExternalSecret")!, "refreshInterval")],
    ["external_secret_api_version", field(built.get("ExternalSecret")!, "apiVersion")],
  ];
  for (const [variable, value] of pairs) assert.equal(terraformDefault(variable), value, variable);
  // Terraform reads the very rule file the PrometheusRule carries.
  assert.match(
    mainTf,
    /yamldecode\(file\("\$\{path\.module\}\/\.\.\/\.\.\/alerts\/ibkr\.rules\.yaml"\)\)/,
  );
  assert.match(mainTf, /^\s*args\s*=\s*\["sync"\]$/m);
  assert.match(mainTf, /^\s*concurrency_policy\s*=\s*"Forbid"$/m);
  assert.match(mainTf, /^\s*read_only_root_filesystem\s*=\s*true$/m);
  assert.match(mainTf, /^\s*run_as_non_root\s*=\s*true$/m);
});

Deno.test("operations.md's kustomize overlay builds, and labels the PrometheusRule for Prometheus", async () => {
  const overlay = codeBlocks(await readDoc("docs/operations.md"))
    .find((block) => block.startsWith("# deploy/kustomization.yaml"));
  assert.ok(overlay, "no overlay example in docs/operations.md");
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-overlay-" });
  try {
    // The release's manifests are these; kustomize wants its bases inside the overlay's tree.
    await Deno.mkdir(`${dir}/base`);
    for await (const entry of Deno.readDir(`${REPO_ROOT}/infra/k8s`)) {
      await Deno.copyFile(`${REPO_ROOT}/infra/k8s/${entry.name}`, `${dir}/base/${entry.name}`);
    }
    const local = overlay.replace(/^ {2}- https:\/\/\S+\/\/infra\/k8s\?ref=\S+$/m, "  - ./base");
    assert.notEqual(local, overlay, "the overlay does not use the release's infra/k8s");
    await Deno.writeTextFile(`${dir}/kustomization.yaml`, local);
    const objects = await kustomize(dir);
    assert.match(objects.get("PrometheusRule")!, /^\s+release: \S+$/m);
    assert.match(objects.get("ExternalSecret")!, /secretStoreRef:\n\s+kind: \S+\n\s+name: vault\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs/cli.md names every variable the CronJob sets, and which are optional there", async () => {
  const cli = await readDoc("docs/cli.md");
  const paragraph = cli.match(/^The CronJob \(`infra\/`\) sets [\s\S]*?\n\n/m)?.[0];
  assert.ok(paragraph, "no paragraph on the CronJob's variables in docs/cli.md");
  const [sets, rest] = paragraph.split(/; (?=`)/);
  const optional = rest.split(" are optional")[0];
  const names = (text: string) => [...text.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]).sort();
  const env = [...manifestEnv()];
  assert.deepEqual(names(sets), env.map(([name]) => name).sort());
  assert.deepEqual(names(optional), env.filter(([, e]) => e.optional).map(([name]) => name).sort());
});
