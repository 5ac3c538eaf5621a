/**
 * Secrets known to this process (Flex token, Wealthfolio password and session) are registered
 * here when read, and removed from every line printed to stdout or stderr.
 */
const secrets = new Set<string>();

/** Registers a secret; values shorter than 4 characters are not worth matching (and would mangle text). */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret in `text`. Example: `redactSecrets("t=abcd1234")` → `t=[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.replaceAll(secret, "[redacted]");
  }
  return out;
}
