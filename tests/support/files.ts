/** The files under a directory, at any depth, whose name ends in `suffix` (any case); sorted. */
export function filesUnder(dir: string, suffix: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of Deno.readDirSync(at)) {
      const path = `${at}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && entry.name.toLowerCase().endsWith(suffix)) found.push(path);
    }
  };
  walk(dir);
  return found.sort();
}
