/**
 * Whether an external tool a test needs (sqlite3, terraform, script…) is installed, so that a
 * test which cannot run here is reported as ignored rather than failing for the machine's sake.
 */
export async function onPath(command: string): Promise<boolean> {
  const found = await new Deno.Command("sh", {
    args: ["-c", 'command -v "$1"', "sh", command],
    stdout: "null",
    stderr: "null",
  }).output();
  return found.success;
}
