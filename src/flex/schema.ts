/**
 * The shape of each Flex row, declared once as data: which attributes are decimals, dates,
 * date-times or text. The reader is generic over these declarations, so a field IBKR adds is one
 * line here. Attributes not declared are kept (as raw strings) and never cause an error.
 */
export interface RowShape {
  /** The element name, e.g. `Trade`. */
  readonly tag: string;
  /** The section (container) name used in messages, e.g. `Trades`. */
  readonly section: string;
  readonly decimals: readonly string[];
  readonly dates: readonly string[];
  readonly dateTimes: readonly string[];
  readonly texts: readonly string[];
}

function shape<
  const T extends string,
  const D extends readonly string[],
  const Dt extends readonly string[],
  const Dtm extends readonly string[],
  const X extends readonly string[],
>(s: { tag: T; section: string; decimals: D; dates: Dt; dateTimes: Dtm; texts: X }) {
  return s;
}

const INSTRUMENT = [
  "accountId",
  "acctAlias",
  "currency",
  "assetCategory",
  "subCategory",
  "symbol",
  "description",
  "conid",
  "securityID",
  "securityIDType",
  "cusip",
  "isin",
  "figi",
  "listingExchange",
  "underlyingConid",
  "underlyingSymbol",
  "expiry",
  "putCall",
  "levelOfDetail",
  "transactionID",
] as const;

export const TRADE = shape({
  tag: "Trade",
  section: "Trades",
  decimals: [
    "quantity",
    "tradePrice",
    "tradeMoney",
    "proceeds",
    "taxes",
    "ibCommission",
    "netCash",
    "multiplier",
    "strike",
    "fxRateToBase",
    "cost",
    "accruedInt",
    "origTradePrice",
  ],
  dates: ["tradeDate", "reportDate", "settleDateTarget", "origTradeDate"],
  dateTimes: ["dateTime", "orderTime"],
  texts: [
    ...INSTRUMENT,
    "tradeID",
    "tradeTime",
    "ibCommissionCurrency",
    "exchange",
    "transactionType",
    "buySell",
    "openCloseIndicator",
    "notes",
    "origTradeID",
    "origTransactionID",
    "origOrderID",
    "relatedTransactionID",
    "ibOrderID",
    "ibExecID",
  ],
});

export const CASH_TRANSACTION = shape({
  tag: "CashTransaction",
  section: "CashTransactions",
  decimals: ["amount", "fxRateToBase", "multiplier"],
  dates: ["settleDate", "reportDate", "exDate"],
  dateTimes: ["dateTime"],
  texts: [...INSTRUMENT, "type", "actionID", "tradeID", "code", "clientReference"],
});

export const OPEN_POSITION = shape({
  tag: "OpenPosition",
  section: "OpenPositions",
  decimals: [
    "position",
    "markPrice",
    "positionValue",
    "costBasisPrice",
    "costBasisMoney",
    "multiplier",
    "fxRateToBase",
  ],
  dates: ["reportDate"],
  dateTimes: ["openDateTime"],
  texts: [...INSTRUMENT, "side", "originatingTransactionID", "code"],
});

/** Positions at the start of the period: quantities when the query ticks them, else prices only. */
export const PRIOR_PERIOD_POSITION = shape({
  tag: "PriorPeriodPosition",
  section: "PriorPeriodPositions",
  decimals: ["position", "price", "multiplier"],
  dates: ["date"],
  dateTimes: [],
  texts: [...INSTRUMENT],
});

export const CASH_REPORT_CURRENCY = shape({
  tag: "CashReportCurrency",
  section: "CashReport",
  decimals: [
    "startingCash",
    "endingCash",
    "endingSettledCash",
    "deposits",
    "withdrawals",
    "depositWithdrawals",
    "dividends",
    "withholdingTax",
    "paymentInLieu",
    "brokerInterest",
    "bondInterest",
    "commissions",
    "otherFees",
    "advisorFees",
    "transactionTax",
    "salesTax",
    "netTradesSales",
    "netTradesPurchases",
    "fxTranslationGainLoss",
    "internalTransfers",
    "linkingAdjustments",
    "debitCardActivity",
  ],
  dates: ["fromDate", "toDate"],
  dateTimes: [],
  texts: ["accountId", "currency", "levelOfDetail"],
});

export const CORPORATE_ACTION = shape({
  tag: "CorporateAction",
  section: "CorporateActions",
  decimals: ["quantity", "proceeds", "amount", "value", "costBasis", "multiplier", "fxRateToBase"],
  dates: ["reportDate"],
  dateTimes: ["dateTime"],
  texts: [...INSTRUMENT, "type", "actionDescription", "actionID", "code"],
});

export const TRANSFER = shape({
  tag: "Transfer",
  section: "Transfers",
  decimals: [
    "quantity",
    "transferPrice",
    "positionAmount",
    "positionAmountInBase",
    "cashTransfer",
    "multiplier",
    "fxRateToBase",
  ],
  dates: ["date", "reportDate"],
  dateTimes: ["dateTime"],
  texts: [
    ...INSTRUMENT,
    "type",
    "direction",
    "account",
    "company",
    "deliveringBroker",
    "clientReference",
  ],
});

/** VAT and similar taxes IBKR charges on its own fees (market data), contracts §2.9. */
export const SALES_TAX = shape({
  tag: "SalesTax",
  section: "SalesTaxes",
  decimals: ["salesTax", "taxableAmount", "taxRate", "fxRateToBase"],
  dates: ["date"],
  dateTimes: [],
  texts: [
    ...INSTRUMENT,
    "country",
    "taxType",
    "payer",
    "taxableDescription",
    "taxableTransactionID",
    "code",
  ],
});

export const SECURITY_INFO = shape({
  tag: "SecurityInfo",
  section: "SecuritiesInfo",
  decimals: ["multiplier", "strike"],
  dates: ["maturity", "issueDate"],
  dateTimes: [],
  texts: [...INSTRUMENT, "type", "underlyingCategory"],
});

export const CONVERSION_RATE = shape({
  tag: "ConversionRate",
  section: "ConversionRates",
  decimals: ["rate"],
  dates: ["reportDate"],
  dateTimes: [],
  texts: ["fromCurrency", "toCurrency"],
});

export const ACCOUNT_INFORMATION = shape({
  tag: "AccountInformation",
  section: "AccountInformation",
  decimals: [],
  dates: ["dateOpened", "dateFunded", "dateClosed"],
  dateTimes: [],
  texts: ["accountId", "acctAlias", "currency", "name", "accountType", "customerType", "ibEntity"],
});

/** Every row shape the reader types; other elements are counted and otherwise ignored. */
export const ROW_SHAPES = [
  TRADE,
  CASH_TRANSACTION,
  OPEN_POSITION,
  PRIOR_PERIOD_POSITION,
  CASH_REPORT_CURRENCY,
  CORPORATE_ACTION,
  TRANSFER,
  SALES_TAX,
  SECURITY_INFO,
  CONVERSION_RATE,
  ACCOUNT_INFORMATION,
] as const;

export type KnownShape = typeof ROW_SHAPES[number];
export type KnownTag = KnownShape["tag"];

/**
 * Elements inside `<Trades>` that aggregate or detail executions: recognised so they are
 * counted as ignored by design rather than as unknown (contracts/ibkr-flex.md §2.3).
 */
export const TRADE_AGGREGATE_TAGS = new Set(["Order", "SymbolSummary", "AssetSummary", "Lot"]);

/**
 * Sections whose rows repeat rows of another section: counted as ignored under that name, never
 * read as activities. OptionEAE repeats the option BookTrades of Trades (same tradeID, notes
 * `A`/`Ex`/`Ep`); importing both would book an assignment twice (contracts/ibkr-flex.md §2.9).
 */
export const DUPLICATE_TAGS: ReadonlyMap<string, string> = new Map([
  ["OptionEAE", "duplicate-of-trades:OptionEAE"],
]);
