/**
 * The operator's documents link to each other by section; a renamed heading must not leave a
 * runbook step pointing nowhere.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../cli/run_cli.ts";

const DOCUMENTS = ["README.md", "docs/operations.md", "docs/providers/ibkr.md", "docs/cli.md"];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
}

function anchors(markdown: string): Set<string> {
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
}

Deno.test("every relative link of the operator's documents reaches a file and a heading", async () => {
  const broken: string[] = [];
  for (const document of DOCUMENTS) {
    const text = await Deno.readTextFile(`${REPO_ROOT}/${document}`);
    const dir = document.includes("/") ? document.slice(0, document.lastIndexOf("/")) : ".";
    const outsideCode = text.replace(/^```[\s\S]*?^```/gm, "");
    for (const [, target] of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#");
      const file = path === "" ? document : new URL(path, `file://${REPO_ROOT}/${dir}/`).pathname
        .slice(REPO_ROOT.length + 1);
      let linked: string;
      try {
        linked = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
      } catch {
        broken.push(`${document}: ${target} (no file ${file})`);
        continue;
      }
      if (anchor !== undefined && !anchors(linked).has(anchor)) {
        broken.push(`${document}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
