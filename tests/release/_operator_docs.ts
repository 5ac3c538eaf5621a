/**
 * Reading the operator's documents the way an operator does: by section, code block and inline
 * code, so tests can check (and run) exactly what the documents tell someone to type.
 */
import { REPO_ROOT } from "../cli/run_cli.ts";

/** The documents an operator follows. */
export const OPERATOR_DOCS = ["docs/providers/ibkr.md", "docs/operations.md", "README.md"] as const;

export async function readDoc(path: string): Promise<string> {
  return await Deno.readTextFile(`${REPO_ROOT}/${path}`);
}

/**
 * The text under a heading, up to the next heading of the same or a higher level. Throws when the
 * heading is missing, so a renamed section fails the test that reads it.
 */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  let inCode = false;
  let start = -1;
  let level = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trimStart().startsWith("```")) inCode = !inCode;
    if (inCode) continue;
    const m = /^(#{1,6}) (.+)$/.exec(lines[i]);
    if (!m) continue;
    if (start >= 0 && m[1].length <= level) return lines.slice(start, i).join("\n");
    if (start < 0 && m[2].trim() === heading) {
      start = i;
      level = m[1].length;
    }
  }
  if (start < 0) throw new Error(`no heading "${heading}"`);
  return lines.slice(start).join("\n");
}

/** The fenced code blocks of a text (indented ones in list items included), without the fences. */
export function codeBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  for (const m of markdown.matchAll(/^( *)```[^\n]*\n([\s\S]*?)^\1```/gm)) {
    const indent = m[1].length;
    blocks.push(m[2].split("\n").map((line) => line.slice(indent)).join("\n"));
  }
  return blocks;
}

/** Inline code spans outside fenced blocks. A span may wrap over a line break. */
export function inlineCode(markdown: string): string[] {
  const prose = markdown.replace(/^( *)```[^\n]*\n[\s\S]*?^\1```/gm, "");
  return [...prose.matchAll(/`([^`]+)`/g)].map((m) => m[1].replaceAll(/\s*\n\s*/g, " "));
}

/** Markdown table rows (cells trimmed) in a text, the header and separator rows left out. */
export function tableRows(markdown: string): string[][] {
  const rows: string[][] = [];
  for (const line of markdown.split("\n")) {
    if (!/^\|.*\|\s*$/.test(line.trim())) continue;
    const cells = line.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) {
      rows.pop(); // the header row just read
      continue;
    }
    rows.push(cells);
  }
  return rows;
}
