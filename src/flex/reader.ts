/**
 * The streaming Flex reader: bytes in, typed rows out, never the whole document as a tree.
 *
 * It is push-based (`write` chunks, then `close`) so the caller can hash and store the same
 * chunks in one pass. Anything that is not a `FlexQueryResponse` is refused with a typed error:
 * IBKR's error response quotes its code, an HTML page says so, and a DOCTYPE is refused outright
 * (no DTD is ever expanded, so an entity bomb cannot grow).
 */
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { type DayOrder, detectDayOrder, type IsoDate, parseFlexDateTime } from "./dates.ts";
import { FlexDocumentError, FlexErrorResponse } from "./errors.ts";
import { FlexRow, isEmptyValue } from "./row.ts";
import { DUPLICATE_TAGS, type KnownShape, ROW_SHAPES, TRADE_AGGREGATE_TAGS } from "./schema.ts";

/** A typed row of any known shape; narrow on `row.tag`. */
export type AnyFlexRow = { [K in KnownShape as K["tag"]]: FlexRow<K> }[KnownShape["tag"]];

/** The attributes of one `<FlexStatement>`. */
export interface StatementInfo {
  readonly origin: string;
  /** Position of the statement within the document, from 0. */
  readonly ordinal: number;
  readonly accountId: string;
  readonly fromDate: IsoDate | null;
  readonly toDate: IsoDate | null;
  readonly period: string | null;
  readonly whenGenerated: string | null;
  readonly dayOrder: DayOrder;
}

/** What the caller does with a document's content, in document order. */
export interface StatementVisitor {
  statementStart(info: StatementInfo): void;
  row(row: AnyFlexRow, statement: StatementInfo): void;
  /** Called when a section container closes (e.g. `CashTransactions`), before the next section. */
  sectionEnd?(section: string, statement: StatementInfo): void;
  statementEnd(info: StatementInfo): void;
}

/** Counts of what the reader saw, for the run summary. */
export interface DocumentSummary {
  readonly queryName: string | null;
  readonly type: string | null;
  readonly statements: number;
  readonly bytes: number;
  /** Typed rows by tag. */
  readonly rows: Record<string, number>;
  /** Elements read and ignored by design, by reason: `trade-aggregate:Order`, `unused-element:FxTransaction`. */
  readonly ignored: Record<string, number>;
}

const DECODE_BYTES = 64 * 1024;
const SHAPES_BY_TAG = new Map<string, KnownShape>(ROW_SHAPES.map((s) => [s.tag, s]));
const HTML_START = /^\s*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i;

/** Reads one Flex document pushed in chunks. */
export class FlexDocumentReader {
  readonly #origin: string;
  readonly #visitor: StatementVisitor;
  readonly #parser = new SaxesParser({ position: true });
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  readonly #stack: string[] = [];
  readonly #rows: Record<string, number> = {};
  readonly #ignored: Record<string, number> = {};
  #bytes = 0;
  #sniffed = false;
  // Text held until enough of the document's start is seen to tell HTML from XML, whatever
  // the chunk sizes.
  #head = "";
  #sawText = false;
  // An error a visitor threw: it passes through unchanged, never relabelled as malformed XML.
  #visitorError: unknown = undefined;
  #root: string | null = null;
  #queryName: string | null = null;
  #type: string | null = null;
  #statements = 0;
  #statement: StatementInfo | null = null;
  #statementDepth = -1;
  #hasAttributes = false;
  // Text of the children of an error response (Status, ErrorCode, ErrorMessage).
  readonly #responseFields: Record<string, string> = {};

  constructor(origin: string, visitor: StatementVisitor) {
    this.#origin = origin;
    this.#visitor = visitor;
    const p = this.#parser;
    p.on("doctype", () => {
      throw new FlexDocumentError(
        origin,
        "a DOCTYPE is not allowed in a Flex statement (refusing to read DTDs or entities)",
        p.line,
        p.column,
      );
    });
    // Whether the element being opened has attributes: rows do, containers that share a row's
    // name do not. Counting them here is far cheaper than Object.keys on every row.
    p.on("opentagstart", () => this.#hasAttributes = false);
    p.on("attribute", () => this.#hasAttributes = true);
    p.on("opentag", (tag) => this.#open(tag as SaxesTagPlain));
    p.on("closetag", (tag) => this.#close(tag.name));
    // Text is listened to only in an error response (see #open): without a listener saxes
    // skips the whitespace between rows instead of building strings of it.
  }

  /** Feeds the next chunk of bytes. Throws a typed error as soon as the document is refused. */
  write(chunk: Uint8Array): void {
    // Decode in slices: V8 frees megabyte strings only in full collections, so 1 MiB strings
    // pile up; 64 KiB ones do not (peak RSS 240 → 170 MB on the benchmark statement).
    for (let offset = 0; offset < chunk.byteLength; offset += DECODE_BYTES) {
      this.#writeSlice(chunk.subarray(offset, Math.min(offset + DECODE_BYTES, chunk.byteLength)));
    }
  }

  #writeSlice(chunk: Uint8Array): void {
    this.#bytes += chunk.byteLength;
    let text: string;
    try {
      text = this.#decoder.decode(chunk, { stream: true });
    } catch {
      throw new FlexDocumentError(
        this.#origin,
        `is not UTF-8 text (invalid byte within the first ${this.#bytes} bytes)`,
      );
    }
    this.#feed(text);
  }

  /** Ends the document and returns what was read. */
  close(): DocumentSummary {
    let tail: string;
    try {
      tail = this.#decoder.decode();
    } catch {
      throw new FlexDocumentError(
        this.#origin,
        "is not UTF-8 text (truncated multi-byte character)",
      );
    }
    if (tail) this.#feed(tail);
    if (!this.#sniffed) this.#sniff(true);
    if (this.#bytes === 0 || (!this.#root && !this.#sawText)) {
      throw new FlexDocumentError(this.#origin, "is empty: no Flex statement in it");
    }
    try {
      this.#parser.close();
    } catch (e) {
      throw this.#wrap(e);
    }
    if (!this.#root) {
      throw new FlexDocumentError(this.#origin, "has no XML element: not a Flex statement");
    }
    if (this.#root === "FlexStatementResponse") this.#refuseResponse();
    return {
      queryName: this.#queryName,
      type: this.#type,
      statements: this.#statements,
      bytes: this.#bytes,
      rows: this.#rows,
      ignored: this.#ignored,
    };
  }

  #feed(text: string): void {
    if (!this.#sniffed) {
      this.#head += text;
      this.#sniff(false);
      return;
    }
    this.#parse(text);
  }

  /** Decides HTML or not once 64 characters past leading whitespace are in (or at the end). */
  #sniff(atEnd: boolean): void {
    const start = this.#head.trimStart();
    if (start.length < 64 && !atEnd) return;
    this.#sniffed = true;
    if (HTML_START.test(start)) {
      throw new FlexDocumentError(
        this.#origin,
        "is an HTML page, not a Flex statement (an error or maintenance page?)",
      );
    }
    this.#sawText = start.length > 0;
    const head = this.#head;
    this.#head = "";
    if (head) this.#parse(head);
  }

  #parse(text: string): void {
    try {
      this.#parser.write(text);
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /** Calls a visitor method, remembering what it throws so #wrap lets it through. */
  #visit(call: () => void): void {
    try {
      call();
    } catch (e) {
      this.#visitorError = e;
      throw e;
    }
  }

  #wrap(e: unknown): Error {
    if (e === this.#visitorError || !(e instanceof Error) || e.name !== "Error") return e as Error;
    // saxes formats its messages as "line:column: text".
    const m = /^(\d+):(\d+): (.*)$/s.exec(e.message);
    return m
      ? new FlexDocumentError(
        this.#origin,
        `is not well-formed XML: ${m[3]}`,
        Number(m[1]),
        Number(m[2]),
      )
      : new FlexDocumentError(this.#origin, `is not well-formed XML: ${e.message}`);
  }

  #open(tag: SaxesTagPlain): void {
    const name = tag.name;
    const depth = this.#stack.length;
    this.#stack.push(name);
    if (depth === 0) {
      this.#root = name;
      if (name === "FlexQueryResponse") {
        this.#queryName = tag.attributes["queryName"] ?? null;
        this.#type = tag.attributes["type"] ?? null;
        return;
      }
      if (name === "FlexStatementResponse") {
        this.#parser.on("text", (text) => this.#text(text));
        return;
      }
      if (/^html$/i.test(name)) {
        throw new FlexDocumentError(this.#origin, "is an HTML page, not a Flex statement");
      }
      throw new FlexDocumentError(
        this.#origin,
        `is not a Flex statement: its root element is <${name}>, expected <FlexQueryResponse>`,
      );
    }
    if (this.#root !== "FlexQueryResponse") return;
    if (name === "FlexStatement") {
      this.#startStatement(tag.attributes, depth);
      return;
    }
    const shape = SHAPES_BY_TAG.get(name);
    // OptionEAE and FxLot-style containers share names with rows; only typed shapes are rows.
    if (shape && this.#statement && this.#hasAttributes) {
      this.#rows[name] = (this.#rows[name] ?? 0) + 1;
      const row = new FlexRow(shape, tag.attributes, this.#statement) as AnyFlexRow;
      const statement = this.#statement;
      this.#visit(() => this.#visitor.row(row, statement));
      return;
    }
    if (shape && !this.#statement && shape.tag !== "AccountInformation") {
      throw new FlexDocumentError(
        this.#origin,
        `has a <${name}> row outside any <FlexStatement>; refusing to guess its account`,
        this.#parser.line,
      );
    }
    // A container (depth statement+1) or an element we do not use.
    // Containers (FlexStatements, the section elements) are structure, not content.
    if (name !== "FlexStatements" && (!this.#statement || depth > this.#statementDepth + 1)) {
      const reason = TRADE_AGGREGATE_TAGS.has(name)
        ? `trade-aggregate:${name}`
        : DUPLICATE_TAGS.get(name) ?? `unused-element:${name}`;
      this.#ignored[reason] = (this.#ignored[reason] ?? 0) + 1;
    }
  }

  #startStatement(attributes: Record<string, string>, depth: number): void {
    const accountId = attributes["accountId"]?.trim() ?? "";
    if (isEmptyValue(accountId)) {
      throw new FlexDocumentError(
        this.#origin,
        "has a <FlexStatement> without an accountId",
        this.#parser.line,
      );
    }
    const dated = [attributes["fromDate"], attributes["toDate"], attributes["whenGenerated"]]
      .filter((v): v is string => v !== undefined);
    const dayOrder = detectDayOrder(dated) ?? "month-first";
    const parse = (name: string): IsoDate | null => {
      const value = attributes[name];
      if (value === undefined) return null;
      try {
        return parseFlexDateTime(value, dayOrder)?.date ?? null;
      } catch (e) {
        throw new FlexDocumentError(
          this.#origin,
          `FlexStatement accountId ${accountId}: ${name}=${JSON.stringify(value)} is not a date (${
            (e as Error).message
          })`,
        );
      }
    };
    this.#statement = {
      origin: this.#origin,
      ordinal: this.#statements,
      accountId,
      fromDate: parse("fromDate"),
      toDate: parse("toDate"),
      period: attributes["period"] || null,
      whenGenerated: attributes["whenGenerated"] || null,
      dayOrder,
    };
    this.#statementDepth = depth;
    this.#statements++;
    const statement = this.#statement;
    this.#visit(() => this.#visitor.statementStart(statement));
  }

  #close(name: string): void {
    this.#stack.pop();
    const statement = this.#statement;
    if (!statement) return;
    if (name === "FlexStatement" && this.#stack.length === this.#statementDepth) {
      this.#statement = null;
      this.#visit(() => this.#visitor.statementEnd(statement));
    } else if (this.#stack.length === this.#statementDepth + 1) {
      this.#visit(() => this.#visitor.sectionEnd?.(name, statement));
    }
  }

  #text(text: string): void {
    if (this.#root !== "FlexStatementResponse" || this.#stack.length !== 2) return;
    const field = this.#stack[1];
    this.#responseFields[field] = (this.#responseFields[field] ?? "") + text;
  }

  #refuseResponse(): never {
    const f = (k: string) => this.#responseFields[k]?.trim() || null;
    const status = f("Status") ?? "";
    if (status === "Success") {
      throw new FlexDocumentError(
        this.#origin,
        `is a SendRequest answer (reference code ${f("ReferenceCode") ?? "?"}), not a statement`,
      );
    }
    throw new FlexErrorResponse(this.#origin, status, f("ErrorCode"), f("ErrorMessage"));
  }
}
