import assert from "node:assert/strict";
import fc from "fast-check";
import { FlexDocumentError, FlexErrorResponse, FlexRowError } from "../../src/flex/errors.ts";
import {
  type AnyFlexRow,
  type DocumentSummary,
  FlexDocumentReader,
  type StatementInfo,
  type StatementVisitor,
} from "../../src/flex/reader.ts";

const FIXTURE = Deno.readFileSync(new URL("../../fixtures/U1234567-2025.xml", import.meta.url));
const CHUNK_SIZES = [1, 7, 4096] as const;

const encode = (text: string) => new TextEncoder().encode(text);

/** Splits bytes into chunks whose sizes cycle through `sizes`. */
function* chunked(bytes: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length];
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** Everything a visitor saw, in order, as plain data. */
interface Reading {
  readonly events: string[];
  readonly rows: AnyFlexRow[];
  readonly statements: StatementInfo[];
  readonly summary: DocumentSummary;
}

function recorder(events: string[], rows: AnyFlexRow[], statements: StatementInfo[]) {
  const visitor: StatementVisitor = {
    statementStart(info) {
      statements.push(info);
      events.push(`start ${info.ordinal} ${info.accountId}`);
    },
    row(row, statement) {
      rows.push(row);
      events.push(`row ${row.tag} ${statement.accountId} ${row.attributes["transactionID"] ?? ""}`);
    },
    sectionEnd(section, statement) {
      events.push(`section ${section} ${statement.accountId}`);
    },
    statementEnd(info) {
      events.push(`end ${info.ordinal} ${info.accountId}`);
    },
  };
  return visitor;
}

/** Reads a document fed in chunks of the given sizes (cycled). */
function read(input: string | Uint8Array, sizes: readonly number[] = [4096]): Reading {
  const events: string[] = [];
  const rows: AnyFlexRow[] = [];
  const statements: StatementInfo[] = [];
  const reader = new FlexDocumentReader("test.xml", recorder(events, rows, statements));
  const bytes = typeof input === "string" ? encode(input) : input;
  for (const chunk of chunked(bytes, sizes)) reader.write(chunk);
  return { events, rows, statements, summary: reader.close() };
}

/** Rows as comparable data: tag, account, every attribute as written. */
function rowData(rows: readonly AnyFlexRow[]) {
  return rows.map((r) => ({ tag: r.tag, account: r.context.accountId, attributes: r.attributes }));
}

/** Asserts that reading `input` in every chunk size throws `expected`'s kind and message. */
function assertRefused(
  input: string | Uint8Array,
  check: (e: unknown) => void,
  sizes: readonly number[] = CHUNK_SIZES,
): void {
  for (const size of sizes) {
    assert.throws(() => read(input, [size]), (e: unknown) => {
      check(e);
      return true;
    }, `chunk size ${size}`);
  }
}

function isDocumentError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof FlexDocumentError, `expected FlexDocumentError, got ${e}`);
    assert.equal(e.origin, "test.xml");
    assert.match(e.message, pattern);
  };
}

/** A document of `statements`, each `<FlexStatement …>` holding its body. */
function flexDocument(statements: string[], count = statements.length): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<FlexQueryResponse queryName="q" type="AF">` +
    `<FlexStatements count="${count}">${statements.join("")}</FlexStatements></FlexQueryResponse>`;
}

function statement(
  accountId: string,
  body: string,
  dates = 'fromDate="20250101" toDate="20250131"',
) {
  return `<FlexStatement accountId="${accountId}" ${dates} period="" whenGenerated="20250201;061244">` +
    `${body}</FlexStatement>`;
}

/** The one row of a one-row document, for the accessor tests. */
function oneRow(rowXml: string, dates?: string): AnyFlexRow {
  const section = rowXml.startsWith("<Trade ") ? "Trades" : "CashTransactions";
  const { rows } = read(
    flexDocument([statement("U1", `<${section}>${rowXml}</${section}>`, dates)]),
  );
  assert.equal(rows.length, 1);
  return rows[0];
}

// ---- rows and statements -----------------------------------------------------------------------

Deno.test("types every row of the fixture by its tag and counts them", () => {
  const { rows, summary } = read(FIXTURE);
  assert.deepEqual(summary.rows, {
    AccountInformation: 1,
    Trade: 5,
    CashTransaction: 7,
    OpenPosition: 3,
    CashReportCurrency: 3,
  });
  assert.deepEqual(summary.ignored, { "trade-aggregate:Order": 1 });
  assert.equal(summary.statements, 1);
  assert.equal(summary.bytes, FIXTURE.byteLength);
  assert.equal(summary.queryName, "broker-sync-activity");
  assert.equal(summary.type, "AF");
  assert.deepEqual(rows.map((r) => r.tag).slice(0, 3), ["AccountInformation", "Trade", "Trade"]);
  for (const row of rows) {
    assert.equal(row.shape.tag, row.tag);
    assert.equal(row.context.accountId, "U1234567");
  }
});

Deno.test("hands every row the statement it sits in, with its dates and day order", () => {
  const { statements } = read(FIXTURE);
  assert.deepEqual(statements, [{
    origin: "test.xml",
    ordinal: 0,
    accountId: "U1234567",
    fromDate: "2025-01-02",
    toDate: "2025-06-30",
    period: null,
    whenGenerated: "2025-07-01;06:12:44",
    dayOrder: "month-first",
  }]);
});

Deno.test("reads several FlexStatements for several accounts in one document, each row with its own account", () => {
  const doc = flexDocument([
    statement("U1111111", `<Trades><Trade transactionID="1" symbol="A" /></Trades>`),
    statement("U2222222", `<Trades><Trade transactionID="2" symbol="B" /></Trades>`),
  ]);
  const { events, statements, summary } = read(doc);
  assert.deepEqual(events, [
    "start 0 U1111111",
    "row Trade U1111111 1",
    "section Trades U1111111",
    "end 0 U1111111",
    "start 1 U2222222",
    "row Trade U2222222 2",
    "section Trades U2222222",
    "end 1 U2222222",
  ]);
  assert.deepEqual(statements.map((s) => [s.ordinal, s.accountId]), [[0, "U1111111"], [
    1,
    "U2222222",
  ]]);
  assert.equal(summary.statements, 2);
  assert.deepEqual(summary.rows, { Trade: 2 });
});

Deno.test("reads several FlexStatements for the same account (a hand-assembled file)", () => {
  const doc = flexDocument([
    statement("U1", `<Trades><Trade transactionID="1" /></Trades>`),
    statement("U1", `<Trades><Trade transactionID="2" /></Trades>`),
    statement("U1", `<Trades><Trade transactionID="3" /></Trades>`),
  ]);
  const { rows, statements } = read(doc);
  assert.deepEqual(statements.map((s) => s.ordinal), [0, 1, 2]);
  assert.deepEqual(rows.map((r) => r.attributes["transactionID"]), ["1", "2", "3"]);
});

Deno.test("ignores FlexStatements count when it disagrees with the content", () => {
  for (const count of [0, 1, 5]) {
    const doc = flexDocument([
      statement("U1", `<Trades><Trade transactionID="1" /></Trades>`),
      statement("U1", `<Trades><Trade transactionID="2" /></Trades>`),
    ], count);
    const { summary } = read(doc);
    assert.equal(summary.statements, 2, `count=${count}`);
    assert.deepEqual(summary.rows, { Trade: 2 });
  }
});

Deno.test("the OptionEAE container and its OptionEAE rows are never typed rows; only the rows count, as duplicates of the Trades", () => {
  const doc = flexDocument([statement(
    "U1",
    `<OptionEAE>` +
      `<OptionEAE accountId="U1" symbol="XOM   220121C00042500" transactionType="Assignment" ` +
      `quantity="1" tradePrice="0" proceeds="4,250.00" date="20220121" />` +
      `<OptionEAE accountId="U1" symbol="XOM" transactionType="Buy" quantity="100" />` +
      `</OptionEAE>`,
  )]);
  const { rows, events, summary } = read(doc);
  assert.deepEqual(rows, []);
  assert.deepEqual(summary.ignored, { "duplicate-of-trades:OptionEAE": 2 });
  assert.ok(events.includes("section OptionEAE U1"));
});

Deno.test("an empty OptionEAE section is structure, not content: nothing is counted", () => {
  const { summary } = read(flexDocument([statement("U1", `<OptionEAE />`)]));
  assert.deepEqual(summary.ignored, {});
  assert.deepEqual(summary.rows, {});
});

Deno.test("tolerates AccountInformation outside FlexStatements (PP File12), counting it as unused", () => {
  const doc = `<FlexQueryResponse queryName="q" type="AF">` +
    `<AccountInformation accountId="U1" currency="CAD" />` +
    `<FlexStatements count="1">${
      statement("U1", `<Trades><Trade transactionID="1" /></Trades>`)
    }</FlexStatements></FlexQueryResponse>`;
  for (const size of CHUNK_SIZES) {
    const { rows, summary } = read(doc, [size]);
    assert.deepEqual(rows.map((r) => r.tag), ["Trade"]);
    assert.deepEqual(summary.ignored, { "unused-element:AccountInformation": 1 });
  }
});

Deno.test("refuses a typed row outside any FlexStatement rather than guess its account", () => {
  const doc = `<FlexQueryResponse><Trades><Trade transactionID="1" /></Trades></FlexQueryResponse>`;
  assertRefused(doc, isDocumentError(/<Trade> row outside any <FlexStatement>/));
});

Deno.test("refuses a FlexStatement without an accountId", () => {
  assertRefused(
    flexDocument([`<FlexStatement fromDate="20250101"></FlexStatement>`]),
    isDocumentError(/without an accountId/),
  );
});

Deno.test("never throws on unknown sections; counts their rows as unused-element:<tag>", () => {
  const doc = flexDocument([statement(
    "U1",
    `<FxTransactions><FxTransaction fxCurrency="USD" quantity="1" />` +
      `<FxTransaction fxCurrency="EUR" quantity="2" /></FxTransactions>` +
      `<BrandNewSection><BrandNewRow weird="1"><Nested deeper="yes" /></BrandNewRow>` +
      `</BrandNewSection>` +
      `<FxPositions><FxLots><FxLot currency="USD" /></FxLots></FxPositions>` +
      `<Trades><Trade transactionID="1" /></Trades>`,
  )]);
  const { rows, summary, events } = read(doc);
  assert.deepEqual(rows.map((r) => r.tag), ["Trade"]);
  assert.deepEqual(summary.ignored, {
    "unused-element:FxTransaction": 2,
    "unused-element:BrandNewRow": 1,
    "unused-element:Nested": 1,
    "unused-element:FxLots": 1,
    "unused-element:FxLot": 1,
  });
  assert.deepEqual(events.filter((e) => e.startsWith("section")), [
    "section FxTransactions U1",
    "section BrandNewSection U1",
    "section FxPositions U1",
    "section Trades U1",
  ]);
});

Deno.test("keeps unknown attributes and unknown enum values as strings, never throwing", () => {
  const row = oneRow(
    `<Trade transactionID="1" assetCategory="SPACESHIP" transactionType="TeleportTrade" ` +
      `buySell="HODL" currency="GBX" brandNewAttribute="42 (new)" weight="0.0 ()" />`,
  );
  assert.ok(row.tag === "Trade");
  assert.equal(row.text("assetCategory"), "SPACESHIP");
  assert.equal(row.text("transactionType"), "TeleportTrade");
  assert.equal(row.text("buySell"), "HODL");
  assert.equal(row.text("currency"), "GBX");
  assert.equal(row.attributes["brandNewAttribute"], "42 (new)");
  assert.equal(row.attributes["weight"], "0.0 ()");
});

Deno.test("counts Order, SymbolSummary, AssetSummary and Lot inside Trades as trade-aggregate:<tag>, never as rows", () => {
  const doc = flexDocument([statement(
    "U1",
    `<Trades>` +
      `<Order symbol="A" levelOfDetail="ORDER" dateTime="MULTI" transactionID="" />` +
      `<Trade transactionID="1" levelOfDetail="EXECUTION" />` +
      `<Lot symbol="A" levelOfDetail="CLOSED_LOT" />` +
      `<Lot symbol="A" levelOfDetail="CLOSED_LOT" />` +
      `<SymbolSummary symbol="A" levelOfDetail="SYMBOL_SUMMARY" />` +
      `<AssetSummary assetCategory="STK" levelOfDetail="ASSET_SUMMARY" />` +
      `</Trades>`,
  )]);
  const { rows, summary } = read(doc);
  assert.deepEqual(rows.map((r) => r.tag), ["Trade"]);
  assert.deepEqual(summary.ignored, {
    "trade-aggregate:Order": 1,
    "trade-aggregate:Lot": 2,
    "trade-aggregate:SymbolSummary": 1,
    "trade-aggregate:AssetSummary": 1,
  });
});

Deno.test("decodes entities in attribute values (Deposits &amp; Withdrawals)", () => {
  for (const size of CHUNK_SIZES) {
    const { rows } = read(
      flexDocument([statement(
        "U1",
        `<CashTransactions><CashTransaction transactionID="1" type="Deposits &amp; Withdrawals" ` +
          `description="S&amp;P &lt;500&gt; &quot;Acc&quot; &#233;&#x20AC;" /></CashTransactions>`,
      )]),
      [size],
    );
    assert.equal(rows[0].attributes["type"], "Deposits & Withdrawals");
    assert.equal(rows[0].attributes["description"], `S&P <500> "Acc" é€`);
  }
});

Deno.test("calls sectionEnd once for each section, in document order, before statementEnd", () => {
  const { events } = read(FIXTURE);
  assert.deepEqual(events.filter((e) => !e.startsWith("row")), [
    "start 0 U1234567",
    "section AccountInformation U1234567",
    "section Trades U1234567",
    "section CashTransactions U1234567",
    "section OpenPositions U1234567",
    "section CashReport U1234567",
    "end 0 U1234567",
  ]);
  // Every row of a section arrives before that section ends.
  const cashEnd = events.indexOf("section CashTransactions U1234567");
  const lastCashRow = events.findLastIndex((e) => e.startsWith("row CashTransaction "));
  assert.ok(lastCashRow < cashEnd);
});

// ---- chunking ----------------------------------------------------------------------------------

Deno.test("reads identical rows from the fixture fed in 1-, 7- and 4096-byte chunks", () => {
  const whole = read(FIXTURE, [FIXTURE.byteLength]);
  for (const size of CHUNK_SIZES) {
    const chunkedReading = read(FIXTURE, [size]);
    assert.deepEqual(rowData(chunkedReading.rows), rowData(whole.rows), `chunk size ${size}`);
    assert.deepEqual(chunkedReading.events, whole.events, `chunk size ${size}`);
    assert.deepEqual(chunkedReading.summary, whole.summary, `chunk size ${size}`);
  }
});

const MULTI_BYTE = flexDocument([statement(
  "U1",
  `<CashTransactions>` +
    `<CashTransaction transactionID="1" type="Dividends" currency="EUR" amount="1,234.50" ` +
    `description="Société Générale — 株式配当 €0.25 🚀 KRW 1,550" symbol="GLE" />` +
    `<CashTransaction transactionID="2" type="Other Fees" description="Ünïcödé façade ☕" />` +
    `</CashTransactions>`,
)]);

Deno.test("reads multi-byte UTF-8 characters split across chunk boundaries intact", () => {
  for (const size of [1, 2, 3, 5, 7, 4096]) {
    const { rows } = read(MULTI_BYTE, [size]);
    assert.equal(
      rows[0].attributes["description"],
      "Société Générale — 株式配当 €0.25 🚀 KRW 1,550",
      `chunk size ${size}`,
    );
    assert.equal(rows[1].attributes["description"], "Ünïcödé façade ☕", `chunk size ${size}`);
  }
});

Deno.test("strips a UTF-8 byte order mark", () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...encode(MULTI_BYTE)]);
  for (const size of CHUNK_SIZES) {
    assert.equal(read(bom, [size]).rows.length, 2);
  }
});

/** Chunk sizes: mostly tiny (to land inside attributes, entities, tags and characters), some big. */
const chunkSizes = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 2048 })),
  { minLength: 1, maxLength: 40 },
);

Deno.test("property: any chunking of the fixture yields identical rows, events and summary", () => {
  const whole = read(FIXTURE);
  const expectedRows = rowData(whole.rows);
  fc.assert(
    fc.property(chunkSizes, (sizes) => {
      const r = read(FIXTURE, sizes);
      assert.deepEqual(rowData(r.rows), expectedRows);
      assert.deepEqual(r.events, whole.events);
      assert.deepEqual(r.summary, whole.summary);
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: any chunking of a multi-byte UTF-8 document yields identical rows", () => {
  const expected = rowData(read(MULTI_BYTE).rows);
  fc.assert(
    fc.property(chunkSizes, (sizes) => {
      assert.deepEqual(rowData(read(MULTI_BYTE, sizes).rows), expected);
    }),
    { numRuns: 200 },
  );
});

// ---- refusals ----------------------------------------------------------------------------------

const FAIL_RESPONSE = `<?xml version="1.0" encoding="utf-8" ?>
<FlexStatementResponse timestamp='28 August, 2012 10:37 AM EDT'>
<Status>Fail</Status>
<ErrorCode>1012</ErrorCode>
<ErrorMessage>Token has expired.</ErrorMessage>
</FlexStatementResponse>`;

Deno.test("an IBKR FlexStatementResponse with Status Fail is a FlexErrorResponse quoting IBKR's code and message", () => {
  assertRefused(FAIL_RESPONSE, (e) => {
    assert.ok(e instanceof FlexErrorResponse, `expected FlexErrorResponse, got ${e}`);
    assert.equal(e.status, "Fail");
    assert.equal(e.code, "1012");
    assert.equal(e.ibkrMessage, "Token has expired.");
    assert.match(e.message, /ErrorCode 1012 "Token has expired\."/);
  });
});

Deno.test("an IBKR FlexStatementResponse with Status Warn (1019, in progress) is a FlexErrorResponse", () => {
  const warn = `<FlexStatementResponse timestamp="01 January, 2025 09:00 AM EST">` +
    `<Status>Warn</Status><ErrorCode>1019</ErrorCode>` +
    `<ErrorMessage>Statement generation in progress. Please try again shortly.</ErrorMessage>` +
    `</FlexStatementResponse>`;
  assertRefused(warn, (e) => {
    assert.ok(e instanceof FlexErrorResponse, `expected FlexErrorResponse, got ${e}`);
    assert.equal(e.status, "Warn");
    assert.equal(e.code, "1019");
    assert.equal(e.ibkrMessage, "Statement generation in progress. Please try again shortly.");
  });
});

Deno.test("a SendRequest Success answer is a FlexDocumentError naming its reference code, not a statement", () => {
  const success = `<FlexStatementResponse timestamp='28 August, 2012 10:37 AM EDT'>` +
    `<Status>Success</Status><ReferenceCode>1234567890</ReferenceCode>` +
    `<Url>https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService/GetStatement</Url>` +
    `</FlexStatementResponse>`;
  assertRefused(success, (e) => {
    assert.ok(e instanceof FlexDocumentError, `expected FlexDocumentError, got ${e}`);
    assert.ok(!(e instanceof FlexErrorResponse));
    assert.match(e.message, /SendRequest answer \(reference code 1234567890\)/);
  });
});

Deno.test("an HTML page with an <html> root is a FlexDocumentError saying HTML, in any chunk size", () => {
  assertRefused(
    `<html><head><title>404 Not Found</title></head><body>Not Found</body></html>`,
    isDocumentError(/HTML page/),
  );
});

Deno.test("an HTML page starting <!DOCTYPE html> is a FlexDocumentError saying HTML, in any chunk size", () => {
  assertRefused(
    `<!DOCTYPE html>\n<html lang="en"><head><title>Maintenance</title></head>` +
      `<body>Down for maintenance</body></html>`,
    isDocumentError(/HTML page/),
  );
});

Deno.test("whitespace before the XML declaration gets the same verdict whatever the chunk size", () => {
  const doc = ` \n${
    flexDocument([statement("U1", `<Trades><Trade transactionID="1" /></Trades>`)])
  }`;
  const verdict = (size: number) => {
    try {
      return `read ${read(doc, [size]).rows.length} row(s)`;
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
  };
  const verdicts = CHUNK_SIZES.map((size) => `${size}: ${verdict(size)}`);
  assert.equal(
    new Set(verdicts.map((v) => v.replace(/^\d+: /, ""))).size,
    1,
    verdicts.join("\n"),
  );
});

Deno.test("a DOCTYPE is refused, so no DTD or entity is ever expanded", () => {
  const bomb = `<?xml version="1.0"?>\n<!DOCTYPE FlexQueryResponse [\n` +
    `<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n` +
    `<FlexQueryResponse><FlexStatements count="1">` +
    `<FlexStatement accountId="U1"><Trades><Trade transactionID="1" symbol="&b;" /></Trades>` +
    `</FlexStatement></FlexStatements></FlexQueryResponse>`;
  assertRefused(bomb, isDocumentError(/DOCTYPE is not allowed/));
});

Deno.test("an undeclared entity is refused as malformed XML", () => {
  assertRefused(
    flexDocument([statement("U1", `<Trades><Trade transactionID="1" symbol="&xxe;" /></Trades>`)]),
    isDocumentError(/not well-formed XML/),
  );
});

Deno.test("an empty or whitespace-only document is refused as empty", () => {
  assert.throws(() => read(new Uint8Array()), isDocumentErrorThrown(/is empty/));
  assertRefused(" \n\t \r\n", isDocumentError(/is empty/));
});

function isDocumentErrorThrown(pattern: RegExp) {
  return (e: unknown) => {
    isDocumentError(pattern)(e);
    return true;
  };
}

Deno.test("bytes that are not UTF-8 (a Latin-1 é) are refused as not UTF-8", () => {
  const latin1 = encode(flexDocument([statement(
    "U1",
    `<CashTransactions><CashTransaction transactionID="1" description="Soci?t? G?n?rale" />` +
      `</CashTransactions>`,
  )]));
  latin1.forEach((b, i) => {
    if (b === 0x3f /* ? */) latin1[i] = 0xe9;
  });
  assertRefused(latin1, isDocumentError(/not UTF-8/));
});

Deno.test("a UTF-16 document is refused as not UTF-8", () => {
  const text = flexDocument([statement("U1", "")]);
  const utf16 = new Uint8Array(2 + text.length * 2);
  utf16.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) utf16[2 + i * 2] = text.charCodeAt(i);
  assertRefused(utf16, isDocumentError(/not UTF-8/));
});

Deno.test("a document truncated mid-element is refused as not well-formed", () => {
  const half = FIXTURE.subarray(0, Math.floor(FIXTURE.byteLength / 2));
  assertRefused(half, isDocumentError(/not well-formed XML/));
  const missingClose = FIXTURE.subarray(0, FIXTURE.lastIndexOf(0x3c /* < */));
  assertRefused(missingClose, isDocumentError(/not well-formed XML/));
});

Deno.test("a document truncated inside a multi-byte character is refused as not UTF-8", () => {
  const bytes = encode(MULTI_BYTE);
  const euro = bytes.indexOf(0xe2); // first byte of "—" (E2 80 94)
  assertRefused(bytes.subarray(0, euro + 1), isDocumentError(/not UTF-8/));
});

Deno.test("a root element other than FlexQueryResponse is refused", () => {
  assertRefused(
    `<?xml version="1.0"?><Statement accountId="U1" />`,
    isDocumentError(/root element is <Statement>, expected <FlexQueryResponse>/),
  );
});

Deno.test("text that is not XML at all is refused as not well-formed", () => {
  assertRefused("this is not xml", isDocumentError(/not well-formed XML|no XML element/));
});

Deno.test("an error thrown by the visitor passes through the reader unchanged, not as malformed XML", () => {
  // e.g. a journal write failing inside the mapping visitor ("database is locked").
  const failure = new Error("database is locked");
  const reader = new FlexDocumentReader("test.xml", {
    statementStart() {},
    row() {
      throw failure;
    },
    statementEnd() {},
  });
  assert.throws(
    () =>
      reader.write(
        encode(flexDocument([statement("U1", `<Trades><Trade transactionID="1" /></Trades>`)])),
      ),
    (e: unknown) => {
      assert.ok(e === failure, `the visitor's error was replaced by: ${e}`);
      return true;
    },
  );
});

Deno.test("a FlexRowError thrown by the visitor passes through the reader unchanged", () => {
  const reader = new FlexDocumentReader("test.xml", {
    statementStart() {},
    row(row) {
      row.tag === "Trade" && row.decimal("quantity");
    },
    statementEnd() {},
  });
  assert.throws(
    () =>
      reader.write(
        encode(flexDocument([statement("U1", `<Trades><Trade quantity="ten" /></Trades>`)])),
      ),
    FlexRowError,
  );
});

// ---- day order ---------------------------------------------------------------------------------

Deno.test("detects day-first order from a dd/MM/yyyy statement and reads the rows' slash dates with it", () => {
  const doc = flexDocument([statement(
    "U1",
    `<Trades><Trade transactionID="1" tradeDate="03/02/2025" dateTime="03/02/2025;101500" ` +
      `reportDate="22/05/2025" /></Trades>`,
    `fromDate="01/01/2025" toDate="30/06/2025"`,
  )]);
  const { rows, statements } = read(doc);
  assert.equal(statements[0].dayOrder, "day-first");
  assert.equal(statements[0].fromDate, "2025-01-01");
  assert.equal(statements[0].toDate, "2025-06-30");
  const row = rows[0];
  assert.ok(row.tag === "Trade");
  assert.equal(row.date("tradeDate"), "2025-02-03");
  assert.equal(row.date("reportDate"), "2025-05-22");
  assert.deepEqual(row.dateTime("dateTime"), { date: "2025-02-03", time: "10:15:00", zone: null });
});

Deno.test("detects day-first order from whenGenerated when fromDate and toDate do not decide", () => {
  const { statements, rows } = read(flexDocument([
    `<FlexStatement accountId="U1" fromDate="01/02/2025" toDate="03/04/2025" ` +
    `whenGenerated="13/04/2025;101500"><Trades><Trade tradeDate="05/06/2025" /></Trades>` +
    `</FlexStatement>`,
  ]));
  assert.equal(statements[0].dayOrder, "day-first");
  assert.equal(statements[0].fromDate, "2025-02-01");
  assert.ok(rows[0].tag === "Trade");
  assert.equal(rows[0].date("tradeDate"), "2025-06-05");
});

Deno.test("defaults to month-first when the statement's dates do not decide", () => {
  const { statements, rows } = read(flexDocument([statement(
    "U1",
    `<Trades><Trade tradeDate="05/06/2025" /></Trades>`,
    `fromDate="01/02/2025" toDate="03/04/2025"`,
  )]));
  assert.equal(statements[0].dayOrder, "month-first");
  assert.equal(statements[0].fromDate, "2025-01-02");
  assert.ok(rows[0].tag === "Trade");
  assert.equal(rows[0].date("tradeDate"), "2025-05-06");
});

Deno.test("detects month-first order from an MM/dd/yyyy statement", () => {
  const { statements } = read(flexDocument([statement(
    "U1",
    "",
    `fromDate="01/01/2025" toDate="06/30/2025"`,
  )]));
  assert.equal(statements[0].dayOrder, "month-first");
  assert.equal(statements[0].toDate, "2025-06-30");
});

Deno.test("reads statement dates in every documented date format", () => {
  const formats: [string, string][] = [
    ["20250630", "2025-06-30"],
    ["2025-06-30", "2025-06-30"],
    ["06/30/2025", "2025-06-30"],
    ["06/30/25", "2025-06-30"],
    ["30-Jun-25", "2025-06-30"],
    ["05-Oct-25", "2025-10-05"],
  ];
  for (const [written, iso] of formats) {
    const { statements } = read(flexDocument([statement(
      "U1",
      "",
      `fromDate="${written}" toDate="${written}"`,
    )]));
    assert.equal(statements[0].toDate, iso, written);
  }
});

Deno.test("reads statement dates in dd-MMM-yy with an upper-case month containing a T (05-OCT-25)", () => {
  // dates.ts accepts "05-JAN-25"; the reader must not split "OCT" at its "T" as if it were a
  // date-time separator.
  const { statements } = read(flexDocument([statement(
    "U1",
    "",
    `fromDate="01-OCT-25" toDate="31-OCT-25"`,
  )]));
  assert.equal(statements[0].fromDate, "2025-10-01");
  assert.equal(statements[0].toDate, "2025-10-31");
});

Deno.test("a statement date that is not a date is a FlexDocumentError naming the account and attribute", () => {
  assertRefused(
    flexDocument([statement("U1", "", `fromDate="yesterday" toDate="20250101"`)]),
    isDocumentError(/FlexStatement accountId U1: fromDate="yesterday" is not a date/),
    [4096],
  );
});

// ---- row accessors -----------------------------------------------------------------------------

Deno.test('text() gives null for IBKR\'s empty markers "", "-", "--" and "N/A", and trims other values', () => {
  for (const marker of ["", "-", "--", "N/A", "  ", " - "]) {
    const row = oneRow(`<Trade transactionID="1" symbol="${marker}" />`);
    assert.ok(row.tag === "Trade");
    assert.equal(row.text("symbol"), null, JSON.stringify(marker));
  }
  const row = oneRow(`<Trade transactionID="1" symbol="  BRK B  " />`);
  assert.ok(row.tag === "Trade");
  assert.equal(row.text("symbol"), "BRK B");
  assert.equal(row.text("notes"), null); // absent
});

Deno.test('decimal() strips thousands separators: "4,250.00" is 4250 exactly', () => {
  const row = oneRow(
    `<Trade transactionID="1" proceeds="4,250.00" tradeMoney="-1,234,567.891" quantity="0.1" ` +
      `netCash="+3" taxes="-.5" cost="1e-8" />`,
  );
  assert.ok(row.tag === "Trade");
  assert.equal(row.decimal("proceeds")?.toFixed(), "4250");
  assert.equal(row.decimal("tradeMoney")?.toFixed(), "-1234567.891");
  assert.equal(row.decimal("quantity")?.toFixed(), "0.1");
  assert.equal(row.decimal("netCash")?.toFixed(), "3");
  assert.equal(row.decimal("taxes")?.toFixed(), "-0.5");
  assert.equal(row.decimal("cost")?.toFixed(), "0.00000001");
});

Deno.test("decimal() gives null for an absent attribute and for the empty markers", () => {
  for (const marker of ["", "-", "--", "N/A"]) {
    const row = oneRow(`<Trade transactionID="1" quantity="${marker}" />`);
    assert.ok(row.tag === "Trade");
    assert.equal(row.decimal("quantity"), null, JSON.stringify(marker));
    assert.equal(row.decimal("taxes"), null);
  }
});

Deno.test('decimal() of garbage such as "0.0 ()" throws FlexRowError naming section, transactionID, attribute and value', () => {
  for (const garbage of ["0.0 ()", "1.2.3", "abc", "12 USD", "1,5 €"]) {
    const row = oneRow(`<Trade transactionID="31000001" quantity="${garbage}" />`);
    assert.ok(row.tag === "Trade");
    assert.throws(() => row.decimal("quantity"), (e: unknown) => {
      assert.ok(e instanceof FlexRowError, `expected FlexRowError, got ${e}`);
      assert.equal(e.origin, "test.xml");
      assert.equal(e.section, "Trades");
      assert.equal(e.transactionId, "31000001");
      assert.equal(e.attribute, "quantity");
      assert.equal(e.value, garbage);
      assert.ok(e.message.includes(`Trades row transactionID=31000001: quantity="${garbage}"`));
      return true;
    }, garbage);
  }
});

Deno.test("date() parses yyyyMMdd, yyyy-MM-dd, MM/dd/yyyy, MM/dd/yy and dd-MMM-yy, and MULTI is null", () => {
  const cases: [string, string | null][] = [
    ["20250213", "2025-02-13"],
    ["2025-02-13", "2025-02-13"],
    ["02/13/2025", "2025-02-13"],
    ["02/13/25", "2025-02-13"],
    ["13-Feb-25", "2025-02-13"],
    ["MULTI", null],
    ["", null],
  ];
  for (const [written, expected] of cases) {
    const row = oneRow(`<Trade transactionID="1" tradeDate="${written}" />`);
    assert.ok(row.tag === "Trade");
    assert.equal(row.date("tradeDate"), expected, written);
  }
  const row = oneRow(`<Trade transactionID="1" />`);
  assert.ok(row.tag === "Trade");
  assert.equal(row.date("tradeDate"), null);
});

Deno.test("dateTime() parses every separator, time form and zone suffix, keeping the local date", () => {
  const cases: [string, { date: string; time: string | null; zone: string | null } | null][] = [
    ["20250213;202000", { date: "2025-02-13", time: "20:20:00", zone: null }],
    ["2025-02-13;20:20:00", { date: "2025-02-13", time: "20:20:00", zone: null }],
    ["2025-12-15;095038", { date: "2025-12-15", time: "09:50:38", zone: null }],
    ["2013-03-05, 19:45:00", { date: "2013-03-05", time: "19:45:00", zone: null }],
    ["20260419 144528", { date: "2026-04-19", time: "14:45:28", zone: null }],
    ["20250522;204157 EDT", { date: "2025-05-22", time: "20:41:57", zone: "EDT" }],
    ["2025-05-22 20:41:57 AEST", { date: "2025-05-22", time: "20:41:57", zone: "AEST" }],
    ["02/13/2025;202000", { date: "2025-02-13", time: "20:20:00", zone: null }],
    ["20250213", { date: "2025-02-13", time: null, zone: null }],
    ["MULTI", null],
  ];
  for (const [written, expected] of cases) {
    const row = oneRow(`<Trade transactionID="1" dateTime="${written}" />`);
    assert.ok(row.tag === "Trade");
    assert.deepEqual(row.dateTime("dateTime"), expected, written);
  }
});

Deno.test("date() and dateTime() of garbage throw FlexRowError naming the attribute and value", () => {
  const row = oneRow(
    `<CashTransaction transactionID="7" reportDate="2025-13-45" dateTime="tomorrow;noon" />`,
  );
  assert.ok(row.tag === "CashTransaction");
  assert.throws(() => row.date("reportDate"), (e: unknown) => {
    assert.ok(e instanceof FlexRowError);
    assert.deepEqual([e.section, e.transactionId, e.attribute, e.value], [
      "CashTransactions",
      "7",
      "reportDate",
      "2025-13-45",
    ]);
    return true;
  });
  assert.throws(() => row.dateTime("dateTime"), (e: unknown) => {
    assert.ok(e instanceof FlexRowError);
    assert.deepEqual([e.attribute, e.value], ["dateTime", "tomorrow;noon"]);
    return true;
  });
});

Deno.test("a row's transactionId and ibkrId: digits are IBKR ids, REDACTED is not", () => {
  const ids: [string, string | null, string | null][] = [
    ["31000001", "31000001", "31000001"],
    [" 31000001 ", "31000001", "31000001"],
    ["REDACTED", "REDACTED", null],
    ["", null, null],
    ["-", null, null],
  ];
  for (const [written, transactionId, ibkrId] of ids) {
    const row = oneRow(`<Trade transactionID="${written}" />`);
    assert.equal(row.transactionId, transactionId, written);
    assert.equal(row.ibkrId, ibkrId, written);
  }
});
