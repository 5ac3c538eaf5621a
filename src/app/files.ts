/** Finding the statement files an operator named, and hashing them. */
import { createHash } from "node:crypto";
import { InputError } from "./errors.ts";

/** Read size for statement files: big enough to amortise calls, small enough to stay streaming. */
export const READ_BYTES = 1 << 20;

/**
 * Expands files and directories into the statement files to read, in a stable order. A
 * directory contributes its `*.xml` files (recursively); one with none is an error.
 */
export function statementFiles(paths: readonly string[]): string[] {
  if (paths.length === 0) throw new InputError("no statement file or directory given");
  const files: string[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new InputError(`${path}: no such file or directory`);
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new InputError(`${path}: permission denied`);
      }
      throw e;
    }
    if (info.isFile) {
      files.push(path);
    } else if (info.isDirectory) {
      const found = xmlFilesUnder(path);
      if (found.length === 0) {
        throw new InputError(`${path}: directory has no .xml statement files`);
      }
      files.push(...found);
    } else {
      throw new InputError(`${path}: not a regular file or directory`);
    }
  }
  return [...new Set(files)];
}

function xmlFilesUnder(dir: string): string[] {
  const found: string[] = [];
  const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    if (entry.isDirectory) found.push(...xmlFilesUnder(path));
    else if (entry.isFile && entry.name.toLowerCase().endsWith(".xml")) found.push(path);
  }
  return found;
}

/** Reads a file in READ_BYTES chunks, handing each to `each` (the buffer is reused). */
export function forEachChunk(path: string, each: (chunk: Uint8Array) => void): number {
  const file = Deno.openSync(path, { read: true });
  const buffer = new Uint8Array(READ_BYTES);
  let total = 0;
  try {
    for (;;) {
      const n = file.readSync(buffer);
      if (n === null) break;
      if (n === 0) continue;
      total += n;
      each(buffer.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return total;
}

/** The sha256 of a file, hex. */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  forEachChunk(path, (chunk) => hash.update(chunk));
  return hash.digest("hex");
}
