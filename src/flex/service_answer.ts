/**
 * Reading what the Flex Web Service answered, by its XML and never by the HTTP status (contract
 * §1.1–1.2): a `FlexStatementResponse` (a reference code, or an error code with `Status`
 * Fail/Warn), a `FlexQueryResponse` (the statement itself), or something else (an HTML page,
 * cut-off or malformed XML), which is an error of its own.
 *
 * A statement can be megabytes, so only its root element is looked at here; the journal stores
 * it raw and the streaming reader parses it.
 */
import { SaxesParser } from "saxes";

/** What one answer was. */
export type ServiceAnswer =
  | { readonly kind: "reference"; readonly referenceCode: string; readonly url: string | null }
  | {
    readonly kind: "error";
    readonly status: string;
    readonly code: string | null;
    readonly message: string | null;
  }
  | { readonly kind: "statement" }
  | { readonly kind: "unexpected"; readonly detail: string };

/** A `FlexStatementResponse` larger than this is not one (they are a few hundred bytes). */
const RESPONSE_MAX_BYTES = 64 * 1024;
const HEAD_CHARS = 4096;

/**
 * Classifies an answer's bytes.
 *
 * @example
 * readServiceAnswer(new TextEncoder().encode(
 *   "<FlexStatementResponse timestamp='28 August, 2012 10:37 AM EDT'><Status>Warn</Status>" +
 *   "<ErrorCode>1019</ErrorCode><ErrorMessage>Statement generation in progress.</ErrorMessage>" +
 *   "</FlexStatementResponse>",
 * )); // { kind: "error", status: "Warn", code: "1019", message: "Statement generation in progress." }
 */
export function readServiceAnswer(body: Uint8Array): ServiceAnswer {
  if (body.byteLength === 0) return { kind: "unexpected", detail: "the answer was empty" };
  const head = new TextDecoder("utf-8", { fatal: false }).decode(
    body.subarray(0, Math.min(body.byteLength, HEAD_CHARS)),
  );
  const root = rootElement(head);
  if (root === "html") {
    return { kind: "unexpected", detail: "answered with an HTML page, not Flex XML" };
  }
  if (root === "FlexQueryResponse") return { kind: "statement" };
  if (root === "FlexStatementResponse") return readResponse(body);
  if (root === null) {
    return {
      kind: "unexpected",
      detail: `answered with something that is not XML (${excerpt(head)})`,
    };
  }
  return { kind: "unexpected", detail: `answered with an unexpected XML root <${root}>` };
}

/** The first element's name, `html` for any HTML page, or null when there is no element. */
function rootElement(head: string): string | null {
  let text = head.replace(/^\uFEFF/, "");
  // Skip the XML declaration, processing instructions and comments before the root.
  for (;;) {
    const trimmed = text.trimStart();
    if (trimmed.startsWith("<?")) {
      const end = trimmed.indexOf("?>");
      if (end < 0) return null;
      text = trimmed.slice(end + 2);
    } else if (trimmed.startsWith("<!--")) {
      const end = trimmed.indexOf("-->");
      if (end < 0) return null;
      text = trimmed.slice(end + 3);
    } else {
      text = trimmed;
      break;
    }
  }
  if (/^<!doctype\s+html/i.test(text)) return "html";
  const m = /^<([A-Za-z_][\w.-]*)/.exec(text);
  if (!m) return null;
  return /^(html|head|body)$/i.test(m[1]) ? "html" : m[1];
}

function readResponse(body: Uint8Array): ServiceAnswer {
  if (body.byteLength > RESPONSE_MAX_BYTES) {
    return {
      kind: "unexpected",
      detail: `answered with a FlexStatementResponse of ${body.byteLength} bytes (too large)`,
    };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { kind: "unexpected", detail: "answered with bytes that are not UTF-8" };
  }
  const fields: Record<string, string> = {};
  const stack: string[] = [];
  const parser = new SaxesParser();
  parser.on("doctype", () => {
    throw new Error("a DOCTYPE is not allowed");
  });
  parser.on("opentag", (tag) => stack.push(tag.name));
  parser.on("closetag", () => stack.pop());
  parser.on("text", (t) => {
    if (stack.length === 2) fields[stack[1]] = (fields[stack[1]] ?? "") + t;
  });
  try {
    parser.write(text).close();
  } catch (e) {
    return {
      kind: "unexpected",
      detail: `answered with truncated or malformed XML (${(e as Error).message.split("\n")[0]})`,
    };
  }
  const field = (name: string) => fields[name]?.trim() || null;
  const status = field("Status") ?? "";
  if (status === "Success") {
    const referenceCode = field("ReferenceCode");
    if (referenceCode === null || !/^\d+$/.test(referenceCode)) {
      return { kind: "unexpected", detail: "answered Success without a numeric ReferenceCode" };
    }
    return { kind: "reference", referenceCode, url: field("Url") };
  }
  return { kind: "error", status, code: field("ErrorCode"), message: field("ErrorMessage") };
}

function excerpt(text: string): string {
  const line = text.trim().split("\n")[0].slice(0, 40);
  return JSON.stringify(line);
}
