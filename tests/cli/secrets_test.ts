import assert from "node:assert/strict";
import { redactSecrets, registerSecret } from "../../src/cli/secrets.ts";

Deno.test("a secret is redacted as --json and JSON log lines write it, with its quotes and backslashes escaped", () => {
  const password = 'pa"ss\\word-7Q';
  const json = JSON.stringify({ password, log: `login with ${password}` });
  assert.ok(!json.includes(password), "JSON escapes it: the plain form alone would not match");
  registerSecret(password);
  const out = redactSecrets(json);
  assert.ok(!out.includes("ss\\\\word"), `the password is still in: ${out}`);
  assert.equal(out, JSON.stringify({ password: "[redacted]", log: "login with [redacted]" }));
});

Deno.test("a secret is redacted as a URL writes it, percent-encoded or form-encoded", () => {
  const token = "tok&en+with/special=chars 9";
  registerSecret(token);
  const query = new URL(
    `https://h.example/SendRequest?${new URLSearchParams({ t: token, v: "3" })}`,
  );
  const userinfo = `https://metrics:${encodeURIComponent(token)}@h.example/`;
  assert.equal(redactSecrets(query.href), "https://h.example/SendRequest?t=[redacted]&v=3");
  assert.equal(redactSecrets(userinfo), "https://metrics:[redacted]@h.example/");
  assert.equal(redactSecrets(`token ${token}.`), "token [redacted].");
});

Deno.test("a secret containing another registered one is removed whole", () => {
  registerSecret("session-abcd");
  registerSecret("session-abcd-and-more-9f3e");
  assert.equal(redactSecrets("s=session-abcd-and-more-9f3e"), "s=[redacted]");
});
