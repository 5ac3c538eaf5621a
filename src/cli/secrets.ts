/**
 * Secrets known to this process (Flex token, Wealthfolio password and session) are registered
 * here when read, and removed from every line printed to stdout or stderr.
 */

/** Longest first, so a secret that contains another is removed whole. */
const secrets: string[] = [];

/**
 * Registers a secret; values shorter than 4 characters are not worth matching (and would mangle
 * text). The forms it takes inside a JSON string (`--json`, JSON log lines) and a URL (a query
 * string, a percent-encoded password) are registered too: they are how a secret with `"`, `\`,
 * `&` or `+` would be printed.
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  for (
    const form of [
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      new URLSearchParams({ s: value }).toString().slice(2),
    ]
  ) if (!secrets.includes(form)) secrets.push(form);
  secrets.sort((a, b) => b.length - a.length);
}

/** Replaces every registered secret in `text`. Example: `redactSecrets("t=abcd1234")` → `t=[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.replaceAll(secret, "[redacted]");
  }
  return out;
}
