/**
 * Secrets known to this process (Flex token, Wealthfolio password and session) are registered
 * here when read, and removed from every line printed to stdout or stderr.
 */
const secrets = new Set<string>();

/** Registers a secret; values shorter than 4 characters are not worth matching (and would mangle text). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  secrets.add(value);
  // Redaction runs on printed text, which may be JSON (`--json`, `--log-format json`): a secret
  // with a quote, backslash or control character appears there escaped.
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) secrets.add(escaped);
}

/** Replaces every registered secret in `text`. Example: `redactSecrets("t=abcd1234")` → `t=[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.replaceAll(secret, "[redacted]");
  }
  return out;
}
