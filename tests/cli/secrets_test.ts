/** Secret redaction: a registered secret disappears from printed text, plain or JSON-encoded. */
import assert from "node:assert/strict";
import { redactSecrets, registerSecret } from "../../src/cli/secrets.ts";

Deno.test("a registered secret is redacted from plain text and from JSON that escapes it", () => {
  const password = 'pa"ss\\word\n42';
  registerSecret(password);
  assert.equal(redactSecrets(`login with ${password} failed`), "login with [redacted] failed");
  const json = JSON.stringify({ message: `login with ${password} failed` });
  assert.ok(json.includes('pa\\"ss\\\\word\\n42'), "the JSON holds the escaped form");
  assert.equal(redactSecrets(json), JSON.stringify({ message: "login with [redacted] failed" }));
});

Deno.test("values under 4 characters are not treated as secrets", () => {
  registerSecret("abc");
  assert.equal(redactSecrets("abc abcd"), "abc abcd");
});
