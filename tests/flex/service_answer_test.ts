import assert from "node:assert/strict";
import { readServiceAnswer } from "../../src/flex/service_answer.ts";

const read = (text: string) => readServiceAnswer(new TextEncoder().encode(text));

Deno.test("a SendRequest success gives the reference code and Url (single-quoted timestamp)", () => {
  assert.deepEqual(
    read(
      `<?xml version="1.0" encoding="UTF-8"?>\n<FlexStatementResponse timestamp='28 August, 2012 10:37 AM EDT'>` +
        `<Status>Success</Status><ReferenceCode>1234567890</ReferenceCode>` +
        `<Url>https://gdcdyn.interactivebrokers.com/AccountManagement/FlexWebService/GetStatement</Url>` +
        `</FlexStatementResponse>`,
    ),
    {
      kind: "reference",
      referenceCode: "1234567890",
      url: "https://gdcdyn.interactivebrokers.com/AccountManagement/FlexWebService/GetStatement",
    },
  );
});

Deno.test("an error response is classified by its XML: status, code and text", () => {
  assert.deepEqual(
    read(
      `<FlexStatementResponse timestamp="x"><Status>Fail</Status><ErrorCode>1012</ErrorCode>` +
        `<ErrorMessage>Token has expired.</ErrorMessage></FlexStatementResponse>`,
    ),
    { kind: "error", status: "Fail", code: "1012", message: "Token has expired." },
  );
});

Deno.test("a statement is recognised by its root only, after a declaration and a comment", () => {
  assert.deepEqual(
    read(`\uFEFF<?xml version="1.0"?>\n<!-- x -->\n<FlexQueryResponse queryName="q" type="AF">`),
    { kind: "statement" },
  );
});

Deno.test("HTML pages, empty bodies, other roots and cut-off XML are unexpected answers", () => {
  const detail = (text: string) => {
    const a = read(text);
    assert.equal(a.kind, "unexpected");
    return (a as { detail: string }).detail;
  };
  assert.match(detail(`<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html>`), /HTML page/);
  assert.match(detail(`<html><body>maintenance</body></html>`), /HTML page/);
  assert.match(detail(""), /empty/);
  assert.match(detail("Internal Server Error"), /not XML \("Internal Server Error"\)/);
  assert.match(detail("<Other/>"), /unexpected XML root <Other>/);
  assert.match(
    detail(`<FlexStatementResponse timestamp='x'><Status>Succ`),
    /truncated or malformed XML/,
  );
  assert.match(
    detail(`<FlexStatementResponse><Status>Success</Status></FlexStatementResponse>`),
    /without a numeric ReferenceCode/,
  );
});
