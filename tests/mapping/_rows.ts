/**
 * Test support for the mapping tests: small Flex XML snippets run through the real reader and
 * StatementMapper, so every rule is exercised from the attribute text IBKR would write.
 */
import type { RowOutcome, SkippedRow } from "../../src/domain/activity.ts";
import { type ActivityPayload, fromPayload, toPayload } from "../../src/domain/payload.ts";
import { type DocumentSummary, FlexDocumentReader } from "../../src/flex/reader.ts";
import { type CostBasisSource, heldPosition, NO_COST_BASIS } from "../../src/mapping/cost_basis.ts";
import { StatementMapper } from "../../src/mapping/statement.ts";

export const ACCOUNT = "U1234567";

/** Attribute values; `undefined` leaves the attribute out of the element. */
export type Attributes = Readonly<Record<string, string | undefined>>;

/** What mapping a document produced, in document order. */
export interface Mapped {
  readonly activities: ActivityPayload[];
  readonly skipped: SkippedRow[];
  /** Reasons of rows the mapper left alone by design (aggregates, duplicate summaries). */
  readonly ignored: string[];
  readonly outcomes: RowOutcome[];
  /** The reader's own counts (typed rows, elements ignored such as `trade-aggregate:Order`). */
  readonly document: DocumentSummary;
}

function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll('"', "&quot;");
}

/** One self-closing element; attribute values are escaped as an XML writer would. */
export function element(tag: string, attributes: Attributes): string {
  const attrs = Object.entries(attributes)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}="${escapeAttribute(value)}"`)
    .join(" ");
  return `<${tag} ${attrs} />`;
}

/** A `<Trade>` execution of 10 AAPL at 228.26 on 2025-01-15, overridable attribute by attribute. */
export function trade(over: Attributes = {}): string {
  return element("Trade", {
    accountId: ACCOUNT,
    currency: "USD",
    fxRateToBase: "0.79312",
    assetCategory: "STK",
    subCategory: "COMMON",
    symbol: "AAPL",
    description: "APPLE INC",
    conid: "265598",
    isin: "US0378331005",
    listingExchange: "NASDAQ",
    multiplier: "1",
    tradeID: "7001001",
    transactionID: "31000001",
    reportDate: "20250115",
    tradeDate: "20250115",
    dateTime: "20250115;103107",
    transactionType: "ExchTrade",
    exchange: "ISLAND",
    quantity: "10",
    tradePrice: "228.26",
    tradeMoney: "2282.6",
    proceeds: "-2282.6",
    taxes: "0",
    ibCommission: "-1.0005",
    ibCommissionCurrency: "USD",
    netCash: "-2283.6005",
    buySell: "BUY",
    openCloseIndicator: "O",
    notes: "",
    levelOfDetail: "EXECUTION",
    ...over,
  });
}

/** A DETAIL `<CashTransaction>` (a GBP deposit of 5000 on 2025-01-06), overridable. */
export function cash(over: Attributes = {}): string {
  return element("CashTransaction", {
    accountId: ACCOUNT,
    currency: "GBP",
    fxRateToBase: "1",
    assetCategory: "",
    symbol: "",
    description: "CASH RECEIPTS / ELECTRONIC FUND TRANSFERS",
    conid: "",
    dateTime: "20250106;101500",
    settleDate: "20250106",
    reportDate: "20250106",
    amount: "5000",
    type: "Deposits/Withdrawals",
    transactionID: "32000001",
    actionID: "",
    levelOfDetail: "DETAIL",
    ...over,
  });
}

/** A dividend-shaped cash row for AAPL (symbol, conid, isin, NASDAQ listing), overridable. */
export function dividend(over: Attributes = {}): string {
  return cash({
    currency: "USD",
    fxRateToBase: "0.80512",
    assetCategory: "STK",
    subCategory: "COMMON",
    symbol: "AAPL",
    description: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE (Ordinary Dividend)",
    conid: "265598",
    isin: "US0378331005",
    listingExchange: "NASDAQ",
    dateTime: "20250213;202000",
    settleDate: "20250213",
    reportDate: "20250213",
    amount: "2.5",
    type: "Dividends",
    transactionID: "32000002",
    actionID: "141000001",
    ...over,
  });
}

/** A whole document: one FlexStatement per entry, each holding the given sections' XML. */
export function flexDocument(
  statements: readonly { accountId?: string; sections: string; attributes?: Attributes }[],
): string {
  const body = statements.map((s) =>
    element("FlexStatement", {
      accountId: s.accountId ?? ACCOUNT,
      fromDate: "20250101",
      toDate: "20251231",
      period: "",
      whenGenerated: "20260102;061244",
      ...s.attributes,
    }).replace(/ \/>$/, ">") + s.sections + "</FlexStatement>"
  ).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<FlexQueryResponse queryName="test" type="AF">` +
    `<FlexStatements count="${statements.length}">${body}</FlexStatements></FlexQueryResponse>`;
}

/** Runs a whole document through FlexDocumentReader + StatementMapper. */
export function mapDocument(
  xml: string,
  chunkBytes = 4096,
  costBasis: CostBasisSource = NO_COST_BASIS,
): Mapped {
  const outcomes: RowOutcome[] = [];
  const ignored: string[] = [];
  const mapper = new StatementMapper({
    outcome: (outcome) => outcomes.push(outcome),
    ignored: (reason) => ignored.push(reason),
  }, costBasis);
  const reader = new FlexDocumentReader("snippet.xml", mapper);
  const bytes = new TextEncoder().encode(xml);
  for (let i = 0; i < bytes.byteLength; i += chunkBytes) {
    reader.write(bytes.subarray(i, i + chunkBytes));
  }
  const summary = reader.close();
  return {
    document: summary,
    outcomes,
    ignored,
    activities: outcomes.flatMap((o) => o.kind === "activities" ? o.activities.map(toPayload) : []),
    skipped: outcomes.flatMap((o) => o.kind === "skipped" ? [o.skipped] : []),
  };
}

/** Maps one statement of account U1234567 holding `<Trades>` with these rows. */
export function mapTrades(...rows: string[]): Mapped {
  return mapDocument(flexDocument([{ sections: `<Trades>${rows.join("")}</Trades>` }]));
}

/** Maps one statement of account U1234567 holding `<CashTransactions>` with these rows. */
export function mapCashRows(...rows: string[]): Mapped {
  return mapDocument(
    flexDocument([{ sections: `<CashTransactions>${rows.join("")}</CashTransactions>` }]),
  );
}

/** Maps one statement of account U1234567 holding these sections verbatim. */
export function mapSections(sections: string): Mapped {
  return mapDocument(flexDocument([{ sections }]));
}

/** A DETAIL `<CorporateAction>`: AMZN's 5-for-4 forward split (one row, the added shares), overridable. */
export function corporateAction(over: Attributes = {}): string {
  return element("CorporateAction", {
    accountId: ACCOUNT,
    currency: "USD",
    fxRateToBase: "0.79",
    assetCategory: "STK",
    subCategory: "COMMON",
    symbol: "AMZN",
    description: "AMZN(US0231351067) SPLIT 5 FOR 4 (AMZN, AMAZON.COM INC, US0231351067)",
    conid: "3691937",
    isin: "US0231351067",
    listingExchange: "NASDAQ",
    multiplier: "1",
    reportDate: "20250606",
    dateTime: "20250605;202500",
    amount: "0",
    proceeds: "0",
    value: "0",
    quantity: "54.25",
    fifoPnlRealized: "0",
    type: "FS",
    transactionID: "33000001",
    actionID: "142000001",
    code: "",
    levelOfDetail: "DETAIL",
    ...over,
  });
}

/** A `<Transfer>`: 10 AAPL coming in by ACATS on 2025-03-03, overridable. */
export function transfer(over: Attributes = {}): string {
  return element("Transfer", {
    accountId: ACCOUNT,
    currency: "USD",
    fxRateToBase: "0.79",
    assetCategory: "STK",
    symbol: "AAPL",
    description: "APPLE INC",
    conid: "265598",
    isin: "US0378331005",
    listingExchange: "NASDAQ",
    multiplier: "1",
    reportDate: "20250303",
    date: "20250303",
    dateTime: "20250303;101500",
    type: "ACATS",
    direction: "IN",
    company: "--",
    account: "",
    deliveringBroker: "OTHER BROKER LLC",
    quantity: "10",
    transferPrice: "0",
    positionAmount: "2400",
    cashTransfer: "0",
    transactionID: "34000001",
    levelOfDetail: "TRANSFER",
    ...over,
  });
}

/**
 * A cost-basis source over activities already mapped, filtered the way the journal's is (account,
 * conid, business date, the action's own group left out): what a backfill would have journaled.
 */
export function costBasisOf(activities: readonly ActivityPayload[]): CostBasisSource {
  return {
    position: (q) =>
      heldPosition(
        activities
          .filter((a) =>
            a.account === q.account && a.conid === q.conid && a.symbol !== null &&
            (q.inclusive ? a.date.slice(0, 10) <= q.through : a.date.slice(0, 10) < q.through) &&
            (q.before === undefined || a.date < q.before) &&
            (!q.excludeGroup || a.groupKey !== q.excludeGroup)
          )
          .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
          .map(fromPayload),
      ),
  };
}

/** Maps one statement holding these sections, with positions priced from `costBasis`. */
export function mapSectionsWith(sections: string, costBasis: CostBasisSource): Mapped {
  return mapDocument(flexDocument([{ sections }]), 4096, costBasis);
}
