/**
 * The Dockerfile's promises, read from the file itself (no Docker engine needed): the pinned
 * Deno builds the binary with `deno task compile`, and the runtime is distroless, nonroot,
 * shell-free, and writes only under the data dir.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../cli/run_cli.ts";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue; // a comment inside a continued instruction
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  const stages: { from: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const [, keyword, args] = line.match(/^(\S+)\s*(.*)$/)!;
    if (keyword.toUpperCase() === "FROM") {
      const words = args.split(/\s+/).filter((w) => !w.startsWith("--platform="));
      stages.push({ from: words[0], name: words[2] ?? null, instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${keyword} before any FROM`);
      stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(await Deno.readTextFile(`${REPO_ROOT}/Dockerfile`));
const build = stages[0];
const runtime = stages.at(-1)!;
const of = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

Deno.test("the build stage is the official Deno image at the version the tests run on", () => {
  assert.equal(build.from, `denoland/deno:${Deno.version.deno}`);
  const ci = Deno.readTextFileSync(`${REPO_ROOT}/.ci/run`);
  assert.ok(ci.includes(`deno@${Deno.version.deno}`), ".ci/run pins another Deno version");
});

Deno.test("the build stage compiles with deno task compile (the CLI's permission flags)", () => {
  const runs = of(build, "RUN").join("\n");
  assert.match(runs, /deno task compile\b/);
  // A hand-written `deno compile …` would bypass scripts/permissions.ts.
  assert.doesNotMatch(runs, /deno compile\b/);
  assert.match(runs, /deno install --frozen\b/, "dependencies come from the frozen lockfile");
});

Deno.test("the runtime is distroless cc (glibc) as the nonroot user, with no shell step", () => {
  assert.equal(runtime.from, "gcr.io/distroless/cc-debian12:nonroot");
  assert.equal(stages.length, 2);
  // distroless has no shell: a RUN here could not run, and a shell-form ENTRYPOINT neither.
  assert.deepEqual(of(runtime, "RUN"), []);
  assert.deepEqual(of(runtime, "USER"), ["65532:65532"]);
});

Deno.test("the entrypoint is the compiled binary, in exec form", () => {
  const entrypoints = of(runtime, "ENTRYPOINT");
  assert.equal(entrypoints.length, 1);
  const entrypoint = JSON.parse(entrypoints[0]) as string[];
  assert.deepEqual(entrypoint, ["/usr/local/bin/broker-sync"]);
  const copies = of(runtime, "COPY");
  assert.ok(
    copies.includes(`--from=${build.name} /build/dist/broker-sync ${entrypoint[0]}`),
    `the binary is not copied from the build stage: ${copies.join(" | ")}`,
  );
  assert.match(
    Deno.readTextFileSync(`${REPO_ROOT}/scripts/compile.ts`),
    /"\.\.\/dist\/broker-sync"/,
  );
});

Deno.test("every write lands in the data dir, which the runtime user owns", () => {
  const env = of(runtime, "ENV").join(" ");
  assert.match(env, /\bBROKER_SYNC_DATA_DIR=\/data\b/);
  // SQLite puts temporary files in TMPDIR; / is read-only, so they go to the data dir too.
  assert.match(env, /\bTMPDIR=\/data\b/);
  assert.deepEqual(of(runtime, "WORKDIR"), ["/data"]);
  assert.deepEqual(of(runtime, "VOLUME"), ['["/data"]']);
  assert.ok(of(runtime, "COPY").some((c) => /--chown=65532:65532 \S+ \/data$/.test(c)));
});

Deno.test(".dockerignore lets in exactly what the build stage copies", () => {
  const patterns = Deno.readTextFileSync(`${REPO_ROOT}/.dockerignore`).split("\n")
    .map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  assert.equal(patterns[0], "*", "the context must be an allowlist");
  const allowed = new Set(patterns.slice(1).map((p) => p.replace(/^!/, "").replace(/\/$/, "")));
  const copied = of(build, "COPY").flatMap((c) => c.split(/\s+/).slice(0, -1))
    .map((p) => p.replace(/\/$/, ""));
  assert.deepEqual([...allowed].sort(), [...new Set(copied)].sort());
  for (const path of copied) assert.ok(Deno.statSync(`${REPO_ROOT}/${path}`), path);
});
