/**
 * Writes a large, realistic IBKR Flex statement for benchmarks: one `<FlexStatement>` of one
 * account over calendar 2025 with `AccountInformation`, `Trades` (EXECUTION rows carrying the
 * ~60 attributes real exports have, plus `Order` rows for orders filled in several executions),
 * `CashTransactions` (dividends and their withholding tax, broker interest, fees, deposits and
 * withdrawals), `OpenPositions` and `CashReport`.
 *
 * The document is streamed to disk in ~1 MB chunks (it is never one string in memory), the file
 * is created with mode 0600 (statements are financial records), and the same seed always gives
 * the same bytes.
 *
 * ```sh
 * deno run -A scripts/generate_statement.ts OUT.xml [trades] [cashTransactions]
 * ```
 */

/** What to generate. */
export interface GenerateOptions {
  /** EXECUTION `<Trade>` rows (default 100,000). */
  readonly trades?: number;
  /** `<CashTransaction>` rows (default 10,000). */
  readonly cashTransactions?: number;
  /** The statement's IBKR account id (default U1234567). */
  readonly accountId?: string;
  /** PRNG seed: the same seed and counts give the same bytes (default 1). */
  readonly seed?: number;
}

/** What was generated. */
export interface GeneratedStatement {
  readonly path: string;
  readonly bytes: number;
  readonly accountId: string;
  /** The statement's period as written, yyyyMMdd (IBKR's default date format). */
  readonly fromDate: string;
  readonly toDate: string;
  /** Rows by element name: Trade, Order, CashTransaction, OpenPosition, CashReportCurrency… */
  readonly rows: Record<string, number>;
  /** Trade rows that broker-sync maps to an activity (securities) vs. FX conversions. */
  readonly securityTrades: number;
  readonly fxTrades: number;
}

const FLUSH_CHARS = 1 << 20;
const YEAR = 2025;
const BASE_CURRENCY = "GBP";

interface Instrument {
  readonly symbol: string;
  readonly description: string;
  readonly conid: number;
  readonly isin: string;
  readonly cusip: string;
  readonly figi: string;
  readonly listingExchange: string;
  readonly currency: string;
  readonly subCategory: "COMMON" | "ETF" | "REIT" | "ADR";
  /** Typical price, in the trade currency. */
  readonly price: number;
  /** Execution venues IBKR routes to for this listing. */
  readonly venues: readonly string[];
  /** Quarterly dividend per share, or 0 (accumulating ETFs). */
  readonly dividend: number;
  /** Withholding-tax label and rate on its dividends. */
  readonly tax: readonly [string, number] | null;
  readonly issuerCountryCode: string;
}

const US_VENUES = ["ISLAND", "ARCA", "NYSE", "DRCTEDGE", "BATS", "IEX", "EDGX", "NASDAQ"];
const LSE_VENUES = ["LSEETF", "TRWBUKETF", "CHIXUK", "BATEUK"];
const LSE_STOCK_VENUES = ["LSE", "CHIXUK", "BATEUK", "TRQXUK"];
const DE_VENUES = ["IBIS2", "GETTEX2", "TGATE", "IBIS"];
const CA_VENUES = ["TSE", "ALPHA", "OMEGA", "CHIXCA", "PURE"];

function inst(
  symbol: string,
  description: string,
  conid: number,
  isin: string,
  listingExchange: string,
  currency: string,
  subCategory: Instrument["subCategory"],
  price: number,
  dividend: number,
): Instrument {
  const country = isin.slice(0, 2);
  const venues = currency === "USD" && listingExchange !== "LSEETF"
    ? US_VENUES
    : listingExchange === "LSEETF"
    ? LSE_VENUES
    : listingExchange === "LSE"
    ? LSE_STOCK_VENUES
    : listingExchange === "TSE"
    ? CA_VENUES
    : DE_VENUES;
  const tax: Instrument["tax"] = country === "US"
    ? ["US TAX", 0.15]
    : country === "CA"
    ? ["CA TAX", 0.15]
    : country === "DE"
    ? ["DE TAX", 0.26375]
    : null;
  return {
    symbol,
    description,
    conid,
    isin,
    cusip: country === "US" || country === "CA" ? isin.slice(2, 11) : "",
    figi: `BBG00${(conid * 7919).toString(36).toUpperCase().padStart(7, "0").slice(-7)}`,
    listingExchange,
    currency,
    subCategory,
    price,
    venues,
    dividend,
    tax,
    issuerCountryCode: country,
  };
}

const INSTRUMENTS: readonly Instrument[] = [
  inst("AAPL", "APPLE INC", 265598, "US0378331005", "NASDAQ", "USD", "COMMON", 228.26, 0.25),
  inst("MSFT", "MICROSOFT CORP", 272093, "US5949181045", "NASDAQ", "USD", "COMMON", 415.1, 0.83),
  inst("NVDA", "NVIDIA CORP", 4815747, "US67066G1040", "NASDAQ", "USD", "COMMON", 131.6, 0.01),
  inst("AMZN", "AMAZON.COM INC", 3691937, "US0231351067", "NASDAQ", "USD", "COMMON", 201.5, 0),
  inst(
    "GOOGL",
    "ALPHABET INC-CL A",
    208813719,
    "US02079K3059",
    "NASDAQ",
    "USD",
    "COMMON",
    172,
    0.2,
  ),
  inst(
    "META",
    "META PLATFORMS INC-CLASS A",
    107113386,
    "US30303M1027",
    "NASDAQ",
    "USD",
    "COMMON",
    585,
    0.5,
  ),
  inst(
    "COST",
    "COSTCO WHOLESALE CORP",
    272997,
    "US22160K1051",
    "NASDAQ",
    "USD",
    "COMMON",
    905.4,
    1.16,
  ),
  inst(
    "BRK B",
    "BERKSHIRE HATHAWAY INC-CL B",
    72063691,
    "US0846707026",
    "NYSE",
    "USD",
    "COMMON",
    512.5,
    0,
  ),
  inst("JPM", "JPMORGAN CHASE & CO", 1520593, "US46625H1005", "NYSE", "USD", "COMMON", 243.1, 1.25),
  inst("KO", "COCA-COLA CO/THE", 8894, "US1912161007", "NYSE", "USD", "COMMON", 68.4, 0.51),
  inst("XOM", "EXXON MOBIL CORP", 13977, "US30231G1022", "NYSE", "USD", "COMMON", 110.25, 0.99),
  inst("JNJ", "JOHNSON & JOHNSON", 8719, "US4781601046", "NYSE", "USD", "COMMON", 152.8, 1.24),
  inst("O", "REALTY INCOME CORP", 13346, "US7561091049", "NYSE", "USD", "REIT", 56.9, 0.79),
  inst(
    "TSM",
    "TAIWAN SEMICONDUCTOR-SP ADR",
    6223250,
    "US8740391003",
    "NYSE",
    "USD",
    "ADR",
    190.2,
    0.7,
  ),
  inst(
    "VUAG",
    "VANGUARD S&P 500 UCITS ETF ACC",
    128687390,
    "IE00BFMXXD54",
    "LSEETF",
    "GBP",
    "ETF",
    92.1425,
    0,
  ),
  inst(
    "VWRP",
    "VANG FTSE ALL-WORLD USD ACC",
    502406082,
    "IE00BK5BQT80",
    "LSEETF",
    "GBP",
    "ETF",
    116.38,
    0,
  ),
  inst(
    "VUSA",
    "VANGUARD S&P 500 UCITS ETF",
    45947432,
    "IE00B3XXRP09",
    "LSEETF",
    "GBP",
    "ETF",
    88.91,
    0.22,
  ),
  inst("CSPX", "ISHARES CORE S&P 500", 75776072, "IE00B5BMR087", "LSEETF", "USD", "ETF", 598.3, 0),
  inst(
    "EQQQ",
    "INVESCO EQQQ NASDAQ-100 ETF",
    14114926,
    "IE0032077012",
    "LSEETF",
    "GBP",
    "ETF",
    412.75,
    0.41,
  ),
  inst(
    "RR.",
    "ROLLS-ROYCE HOLDINGS PLC",
    28891,
    "GB00B63H8491",
    "LSE",
    "GBP",
    "COMMON",
    5.732,
    0.03,
  ),
  inst("SXR8", "ISHARES CORE S&P 500", 75961307, "IE00B5BMR087", "IBIS2", "EUR", "ETF", 571.42, 0),
  inst(
    "EUNL",
    "ISHARES CORE MSCI WORLD",
    57452473,
    "IE00B4L5Y983",
    "IBIS2",
    "EUR",
    "ETF",
    101.87,
    0,
  ),
  inst(
    "VWCE",
    "VANG FTSE ALL-WORLD USD ACC",
    397556522,
    "IE00BK5BQT80",
    "IBIS2",
    "EUR",
    "ETF",
    126.5,
    0,
  ),
  inst(
    "MUV2",
    "MÜNCHENER RÜCKVERSICHERUNGS-GESELLSCHAFT AG",
    14094,
    "DE0008430026",
    "IBIS2",
    "EUR",
    "COMMON",
    512.2,
    15,
  ),
  inst("SAP", "SAP SE", 14204, "DE0007164600", "IBIS2", "EUR", "COMMON", 262.35, 2.35),
  inst(
    "XIU",
    "ISHARES S&P/TSX 60 INDEX ETF",
    13272,
    "CA46428D1087",
    "TSE",
    "CAD",
    "ETF",
    37.44,
    0.23,
  ),
  inst(
    "VFV",
    "VANGUARD S&P 500 INDEX ETF",
    193347893,
    "CA92205Y1051",
    "TSE",
    "CAD",
    "ETF",
    152.36,
    0.31,
  ),
  inst("RY", "ROYAL BANK OF CANADA", 13284, "CA7800871021", "TSE", "CAD", "COMMON", 172.9, 1.48),
  inst(
    "SHOP",
    "SHOPIFY INC - CLASS A",
    195283448,
    "CA82509L1076",
    "TSE",
    "CAD",
    "COMMON",
    152.7,
    0,
  ),
  inst(
    "BPF.UN",
    "BOSTON PIZZA ROYALTIES INCOM",
    29612193,
    "CA1010841015",
    "TSE",
    "CAD",
    "COMMON",
    17.05,
    0.115,
  ),
];

/** FX pairs traded on IDEALFX (base.quote; the row's currency is the quote currency). */
const FX_PAIRS: readonly { symbol: string; conid: number; rate: number }[] = [
  { symbol: "GBP.USD", conid: 12087797, rate: 1.2705 },
  { symbol: "EUR.GBP", conid: 12087792, rate: 0.8412 },
  { symbol: "GBP.CAD", conid: 12087780, rate: 1.7731 },
  { symbol: "EUR.USD", conid: 12087807, rate: 1.0811 },
];

/** Rough GBP value of one unit of each currency, for fxRateToBase. */
const FX_TO_BASE: Readonly<Record<string, number>> = {
  GBP: 1,
  USD: 0.7871,
  EUR: 0.8412,
  CAD: 0.564,
};

/** mulberry32: small, fast, and deterministic for a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exact decimal string from an integer count of 10^-scale units, trailing zeros trimmed. */
function dec(units: number, scale: number): string {
  const n = Math.round(units);
  if (n === 0) return "0";
  const negative = n < 0;
  const digits = Math.abs(n).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
};

function escapeAttr(value: string): string {
  return /[&<>"]/.test(value) ? value.replace(/[&<>"]/g, (c) => ESCAPES[c]) : value;
}

/** One element line: `<Tag a="…" b="…" />`, attributes in the given (IBKR's) order. */
function element(tag: string, attributes: readonly (readonly [string, string | number])[]): string {
  let line = `      <${tag}`;
  for (const [name, value] of attributes) line += ` ${name}="${escapeAttr(String(value))}"`;
  return `${line} />\n`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The trading days of a year (weekdays but New Year and Christmas) as `YYYY-MM-DD`. */
function tradingDays(year: number): { date: string; month: number }[] {
  const days: { date: string; month: number }[] = [];
  for (let t = Date.UTC(year, 0, 1); new Date(t).getUTCFullYear() === year; t += 86_400_000) {
    const d = new Date(t);
    const dow = d.getUTCDay();
    const monthDay = d.toISOString().slice(5, 10);
    if (dow === 0 || dow === 6 || monthDay === "01-01" || monthDay === "12-25") continue;
    days.push({
      date: d.toISOString().slice(0, 10).replaceAll("-", ""),
      month: d.getUTCMonth() + 1,
    });
  }
  return days;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.min(86_399, Math.floor(seconds)));
  return `${pad2(Math.floor(s / 3600))}${pad2(Math.floor(s / 60) % 60)}${pad2(s % 60)}`;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** Buffers text and writes it to the file in ~1 MB UTF-8 chunks. */
class ChunkedFile {
  readonly #file: Deno.FsFile;
  readonly #encoder = new TextEncoder();
  #parts: string[] = [];
  #chars = 0;
  bytes = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#chars += text.length;
    if (this.#chars >= FLUSH_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const data = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#chars = 0;
    for (let offset = 0; offset < data.byteLength;) {
      offset += await this.#file.write(data.subarray(offset));
    }
    this.bytes += data.byteLength;
  }
}

interface Holding {
  quantity: number;
  /** Total cost in the instrument's currency, in 10^-4 units. */
  cost4: number;
  price: number;
}

/**
 * Writes the statement to `path` (created 0600, overwritten if present) and returns what it
 * holds. Counts are exact: `trades` EXECUTION rows and `cashTransactions` cash rows.
 */
export async function generateStatement(
  path: string,
  options: GenerateOptions = {},
): Promise<GeneratedStatement> {
  const tradeCount = options.trades ?? 100_000;
  const cashCount = options.cashTransactions ?? 10_000;
  for (const [name, n] of [["trades", tradeCount], ["cashTransactions", cashCount]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name}: ${n} is not a count`);
  }
  const account = options.accountId ?? "U1234567";
  const random = prng(options.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const days = tradingDays(YEAR);
  const fromDate = `${YEAR}0101`;
  const toDate = `${YEAR}1231`;
  const rows: Record<string, number> = {};
  const count = (tag: string) => (rows[tag] = (rows[tag] ?? 0) + 1);
  // One counter for every transactionID: trades and cash rows share IBKR's id space.
  let nextTransactionId = 2_871_000_000;
  let nextTradeId = 712_000_000;
  let nextOrderId = 3_940_000_000;
  let nextExec = 0x67a1b2c3;
  const holdings = new Map<string, Holding>();
  const cashMoves: Record<string, Record<string, number>> = {};
  const move = (currency: string, field: string, units4: number) => {
    const c = (cashMoves[currency] ??= {});
    c[field] = (c[field] ?? 0) + units4;
  };
  let securityTrades = 0;
  let fxTrades = 0;

  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true });
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  await Deno.chmod(path, 0o600);
  const out = new ChunkedFile(file);
  try {
    await out.write(
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<FlexQueryResponse queryName="broker-sync-activity" type="AF">\n` +
        `  <FlexStatements count="1">\n` +
        `    <FlexStatement accountId="${account}" fromDate="${fromDate}" toDate="${toDate}" ` +
        `period="LastBusinessYear" whenGenerated="${YEAR + 1}0102;061244">\n`,
    );
    count("FlexStatement");
    await out.write(
      element("AccountInformation", [
        ["accountId", account],
        ["acctAlias", "GIA"],
        ["currency", BASE_CURRENCY],
        ["name", "Sample Holder"],
        ["accountType", "Individual"],
        ["customerType", "Individual"],
        ["accountCapabilities", "Margin"],
        ["tradingPermissions", "Stocks,Options,Warrants,Forex,Mutual Funds"],
        ["dateOpened", "20241104"],
        ["dateFunded", "20241106"],
        ["dateClosed", ""],
        ["street", "1 Sample Street"],
        ["city", "London"],
        ["country", "United Kingdom"],
        ["primaryEmail", "holder@example.com"],
        ["ibEntity", "IB-UK"],
      ]),
    );
    count("AccountInformation");

    // Trades: orders of 1-3 executions each; an Order row precedes an order filled in several.
    await out.write("    <Trades>\n");
    let written = 0;
    while (written < tradeCount) {
      const dayIndex = Math.min(days.length - 1, Math.floor((written / tradeCount) * days.length));
      const day = days[dayIndex].date;
      const fills = Math.min(
        tradeCount - written,
        random() < 0.9 ? 1 : random() < 0.75 ? 2 : 3,
      );
      const orderSeconds = 9.5 * 3600 + random() * 6.4 * 3600;
      const ibOrderID = nextOrderId++;
      if (random() < 0.03) {
        // An FX conversion on IDEALFX: skipped by broker-sync's mapping (not yet mapped).
        const pair = pick(FX_PAIRS);
        const [, quote] = pair.symbol.split(".");
        const sell = random() < 0.5;
        const qty = (Math.floor(random() * 40) + 1) * 500 * (sell ? -1 : 1);
        const rate4 = Math.round(pair.rate * (0.97 + random() * 0.06) * 1e4);
        const money8 = qty * rate4 * 1e4;
        const commission4 = -Math.round(20_000 * (1 + random()));
        const txId = nextTransactionId++;
        const time = clock(orderSeconds);
        await out.write(element("Trade", [
          ["accountId", account],
          ["acctAlias", "GIA"],
          ["currency", quote],
          ["fxRateToBase", dec(Math.round((FX_TO_BASE[quote] ?? 1) * 1e5), 5)],
          ["assetCategory", "CASH"],
          ["subCategory", ""],
          ["symbol", pair.symbol],
          ["description", pair.symbol],
          ["conid", pair.conid],
          ["cusip", ""],
          ["isin", ""],
          ["figi", ""],
          ["listingExchange", ""],
          ["underlyingConid", ""],
          ["underlyingSymbol", ""],
          ["multiplier", "1"],
          ["strike", ""],
          ["expiry", ""],
          ["putCall", ""],
          ["tradeID", nextTradeId++],
          ["reportDate", day],
          ["tradeDate", day],
          ["dateTime", `${day};${time}`],
          ["settleDateTarget", days[Math.min(days.length - 1, dayIndex + 2)].date],
          ["transactionType", "ExchTrade"],
          ["exchange", "IDEALFX"],
          ["quantity", dec(qty, 0)],
          ["tradePrice", dec(rate4, 4)],
          ["tradeMoney", dec(money8, 8)],
          ["proceeds", dec(-money8, 8)],
          ["taxes", "0"],
          ["ibCommission", dec(commission4, 4)],
          ["ibCommissionCurrency", BASE_CURRENCY],
          ["netCash", "0"],
          ["closePrice", dec(rate4 + Math.round((random() - 0.5) * 20), 4)],
          ["openCloseIndicator", ""],
          ["notes", ""],
          ["cost", "0"],
          ["fifoPnlRealized", "0"],
          ["mtmPnl", dec(Math.round((random() - 0.5) * 2e5), 4)],
          ["origTradePrice", "0"],
          ["origTradeDate", ""],
          ["origTradeID", ""],
          ["origOrderID", "0"],
          ["origTransactionID", "0"],
          ["buySell", sell ? "SELL" : "BUY"],
          ["ibOrderID", ibOrderID],
          ["transactionID", txId],
          ["ibExecID", execId(nextExec++)],
          ["relatedTransactionID", ""],
          ["orderReference", ""],
          ["orderTime", `${day};${clock(orderSeconds - 2)}`],
          ["openDateTime", ""],
          ["whenRealized", ""],
          ["levelOfDetail", "EXECUTION"],
          ["orderType", "MKT"],
          ["isAPIOrder", "N"],
          ["accruedInt", "0"],
        ]));
        count("Trade");
        fxTrades++;
        written++;
        continue;
      }

      const instrument = pick(INSTRUMENTS);
      const holding = holdings.get(instrument.symbol) ??
        { quantity: 0, cost4: 0, price: instrument.price };
      holdings.set(instrument.symbol, holding);
      // A slow random walk per instrument keeps prices plausible across the year.
      holding.price = Math.max(1, holding.price * (1 + (random() - 0.5) * 0.01));
      const fractional = instrument.listingExchange !== "TSE" && random() < 0.05;
      const sell = holding.quantity > 0 && random() < 0.42;
      let quantity4: number;
      if (sell) {
        const share = holding.quantity * (random() < 0.2 ? 1 : 0.1 + random() * 0.5);
        quantity4 = -Math.max(1, fractional ? Math.round(share) : Math.round(share / 1e4) * 1e4);
        if (-quantity4 > holding.quantity) quantity4 = -holding.quantity;
      } else {
        const target = 500 + random() * 9_500; // in the trade currency
        const shares = Math.max(1, Math.round(target / holding.price));
        quantity4 = fractional ? Math.round((target / holding.price) * 1e4) : shares * 1e4;
      }
      if (quantity4 === 0) quantity4 = 1e4;
      const isSell = quantity4 < 0;
      const orderType = random() < 0.7 ? "LMT" : "MKT";
      const commissionCurrency = random() < 0.15 && instrument.currency !== BASE_CURRENCY
        ? BASE_CURRENCY
        : instrument.currency;
      const fxRate5 = Math.round(
        (FX_TO_BASE[instrument.currency] ?? 1) * (0.98 + random() * 0.04) * 1e5,
      );
      const parts = splitQuantity(quantity4, fills, random);
      const executions: ExecutionFacts[] = [];
      let seconds = orderSeconds;
      for (const part of parts) {
        seconds += random() * 40;
        const price4 = Math.max(1, Math.round(holding.price * (0.998 + random() * 0.004) * 1e4));
        const money8 = part * price4;
        const commission4 = -Math.round(
          (instrument.currency === "GBP" ? 3 : 1) * 1e4 * (1 + random() * 1.5),
        );
        const taxes4 = instrument.currency === "GBP" && !isSell && instrument.subCategory !== "ETF"
          ? -Math.round((money8 / 1e4) * 0.005)
          : 0;
        executions.push({ part, price4, money8, commission4, taxes4, seconds });
      }

      if (fills > 1) {
        const total4 = parts.reduce((a, b) => a + b, 0);
        const money8 = executions.reduce((a, e) => a + e.money8, 0);
        const commission4 = executions.reduce((a, e) => a + e.commission4, 0);
        await out.write(element(
          "Order",
          orderAttributes({
            account,
            instrument,
            day,
            time: clock(orderSeconds),
            quantity4: total4,
            price4: Math.round(money8 / total4),
            money8,
            commission4,
            commissionCurrency,
            fxRate5,
            ibOrderID,
            orderType,
            isSell,
          }),
        ));
        count("Order");
      }

      for (const e of executions) {
        const costBefore4 = holding.quantity > 0 ? holding.cost4 : 0;
        let cost4: number;
        let realized4 = 0;
        const commissionInTrade4 = commissionCurrency === instrument.currency ? e.commission4 : 0;
        if (e.part < 0) {
          const basis4 = Math.round((costBefore4 * -e.part) / holding.quantity);
          cost4 = -basis4;
          realized4 = Math.round(-e.money8 / 1e4) - basis4 + commissionInTrade4;
          holding.cost4 -= basis4;
          holding.quantity += e.part;
          if (holding.quantity <= 0) {
            holding.quantity = 0;
            holding.cost4 = 0;
          }
        } else {
          cost4 = Math.round(e.money8 / 1e4) - commissionInTrade4 - e.taxes4;
          holding.cost4 += cost4;
          holding.quantity += e.part;
        }
        const txId = nextTransactionId++;
        await out.write(element(
          "Trade",
          tradeAttributes({
            account,
            instrument,
            day,
            dayIndex,
            days,
            e,
            commissionCurrency,
            fxRate5,
            ibOrderID,
            orderType,
            orderTime: clock(orderSeconds),
            txId,
            tradeId: nextTradeId++,
            execId: execId(nextExec++),
            cost4,
            realized4,
            closePrice4: Math.round(holding.price * 1e4),
            random,
          }),
        ));
        count("Trade");
        securityTrades++;
        written++;
        move(
          instrument.currency,
          e.part < 0 ? "netTradesSales" : "netTradesPurchases",
          -e.money8 / 1e4,
        );
        move(commissionCurrency, "commissions", e.commission4);
        move(instrument.currency, "transactionTax", e.taxes4);
      }
    }
    await out.write("    </Trades>\n");

    // Cash transactions, in date order, each with its own transactionID.
    await out.write("    <CashTransactions>\n");
    const payers = INSTRUMENTS.filter((i) => i.dividend > 0);
    let cashWritten = 0;
    let actionId = 141_000_000;
    while (cashWritten < cashCount) {
      const dayIndex = Math.min(
        days.length - 1,
        Math.floor((cashWritten / cashCount) * days.length),
      );
      const { date: day, month } = days[dayIndex];
      const roll = random();
      const cash = (a: CashFacts) => {
        cashWritten++;
        count("CashTransaction");
        move(a.currency, a.report, Math.round(a.amount4));
        return out.write(element("CashTransaction", cashAttributes(account, day, a)));
      };
      if (roll < 0.62) {
        // A dividend and, when the source country withholds, its tax on the same actionID.
        const payer = pick(payers);
        const shares = 10 + Math.floor(random() * 400);
        const gross4 = Math.round(shares * payer.dividend * 1e4);
        const action = actionId++;
        const label = `${payer.symbol}(${payer.isin}) CASH DIVIDEND ${payer.currency} ${
          dec(Math.round(payer.dividend * 1e6), 6)
        } PER SHARE`;
        await cash({
          instrument: payer,
          currency: payer.currency,
          amount4: gross4,
          type: "Dividends",
          description: `${label} (Ordinary Dividend)`,
          time: "202000",
          actionID: String(action),
          transactionID: nextTransactionId++,
          exDate: days[Math.max(0, dayIndex - 3)].date,
          report: "dividends",
        });
        if (payer.tax && cashWritten < cashCount) {
          await cash({
            instrument: payer,
            currency: payer.currency,
            amount4: -Math.round(gross4 * payer.tax[1]),
            type: "Withholding Tax",
            description: `${label} - ${payer.tax[0]}`,
            time: "202000",
            actionID: String(action),
            transactionID: nextTransactionId++,
            exDate: "",
            report: "withholdingTax",
          });
        }
      } else if (roll < 0.74) {
        const currency = pick(["GBP", "USD", "EUR", "CAD"]);
        const paid = currency !== "GBP" && random() < 0.4;
        const period = `${MONTHS[(month + 10) % 12]}-${month === 1 ? YEAR - 1 : YEAR}`;
        await cash({
          instrument: null,
          currency,
          amount4: Math.round((paid ? -1 : 1) * (0.5 + random() * 40) * 1e4),
          type: paid ? "Broker Interest Paid" : "Broker Interest Received",
          description: `${currency} ${paid ? "DEBIT" : "CREDIT"} INT FOR ${period}`,
          time: "202500",
          actionID: "",
          transactionID: nextTransactionId++,
          exDate: "",
          report: "brokerInterest",
        });
      } else if (roll < 0.88) {
        const fee = pick(
          [
            ["P*****46:CBOE ONE FOR", 1],
            ["P*****46:NASDAQ (NETWORK C/UTP) FOR", 1.5],
            ["P*****46:NYSE (NETWORK A/CTA) FOR", 1.5],
            ["P*****46:LSE UK EQUITIES L1 FOR", 7.5],
            ["BALANCE OF MONTHLY MINIMUM FEE FOR", 3],
          ] as const,
        );
        await cash({
          instrument: null,
          currency: fee[1] === 7.5 ? "GBP" : "USD",
          amount4: -Math.round(fee[1] * 1e4),
          type: "Other Fees",
          description: `${fee[0]} ${MONTHS[month - 1]} ${YEAR}`,
          time: "202000",
          actionID: "",
          transactionID: nextTransactionId++,
          exDate: "",
          report: "otherFees",
        });
      } else {
        const withdrawal = random() < 0.3;
        await cash({
          instrument: null,
          currency: random() < 0.85 ? "GBP" : "USD",
          amount4: Math.round(
            (withdrawal ? -1 : 1) * (Math.floor(random() * 200) + 1) * 250 * 1e4,
          ),
          type: "Deposits/Withdrawals",
          description: withdrawal
            ? "DISBURSEMENT INITIATED BY Sample Holder"
            : "CASH RECEIPTS / ELECTRONIC FUND TRANSFERS",
          time: withdrawal ? "140311" : "",
          actionID: "",
          transactionID: nextTransactionId++,
          exDate: "",
          report: withdrawal ? "withdrawals" : "deposits",
        });
      }
    }
    await out.write("    </CashTransactions>\n");

    // Open positions at the end of the year.
    await out.write("    <OpenPositions>\n");
    for (const instrument of INSTRUMENTS) {
      const h = holdings.get(instrument.symbol);
      if (!h || h.quantity <= 0) continue;
      const mark4 = Math.round(h.price * 1e4);
      const value8 = h.quantity * mark4;
      await out.write(element("OpenPosition", [
        ["accountId", account],
        ["acctAlias", "GIA"],
        ["currency", instrument.currency],
        ["fxRateToBase", dec(Math.round((FX_TO_BASE[instrument.currency] ?? 1) * 1e5), 5)],
        ["assetCategory", "STK"],
        ["subCategory", instrument.subCategory],
        ["symbol", instrument.symbol],
        ["description", instrument.description],
        ["conid", instrument.conid],
        ["cusip", instrument.cusip],
        ["isin", instrument.isin],
        ["figi", instrument.figi],
        ["listingExchange", instrument.listingExchange],
        ["multiplier", "1"],
        ["reportDate", days[days.length - 1].date],
        ["position", dec(h.quantity, 4)],
        ["markPrice", dec(mark4, 4)],
        ["positionValue", dec(value8, 8)],
        ["openPrice", dec(Math.round((h.cost4 / h.quantity) * 1e4), 4)],
        ["costBasisPrice", dec(Math.round((h.cost4 / h.quantity) * 1e4), 4)],
        ["costBasisMoney", dec(h.cost4, 4)],
        ["percentOfNAV", dec(Math.round(random() * 1e4), 2)],
        ["fifoPnlUnrealized", dec(Math.round(value8 / 1e4) - h.cost4, 4)],
        ["side", "Long"],
        ["levelOfDetail", "SUMMARY"],
        ["openDateTime", ""],
        ["code", ""],
        ["originatingOrderID", ""],
        ["originatingTransactionID", ""],
        ["accruedInt", ""],
      ]));
      count("OpenPosition");
    }
    await out.write("    </OpenPositions>\n");

    // Cash report: a base summary and one row per currency, with the movements above.
    await out.write("    <CashReport>\n");
    for (const currency of ["BASE_SUMMARY", ...Object.keys(cashMoves).sort()]) {
      const m = currency === "BASE_SUMMARY" ? {} : cashMoves[currency];
      const total = Object.values(m).reduce((a, b) => a + b, 0);
      await out.write(element("CashReportCurrency", [
        ["accountId", account],
        ["acctAlias", "GIA"],
        ["currency", currency],
        ["fromDate", fromDate],
        ["toDate", toDate],
        ["startingCash", "0"],
        ["startingCashSec", "0"],
        ["commissions", dec(m.commissions ?? 0, 4)],
        ["deposits", dec(m.deposits ?? 0, 4)],
        ["withdrawals", dec(m.withdrawals ?? 0, 4)],
        ["depositWithdrawals", dec((m.deposits ?? 0) + (m.withdrawals ?? 0), 4)],
        ["dividends", dec(m.dividends ?? 0, 4)],
        ["withholdingTax", dec(m.withholdingTax ?? 0, 4)],
        ["brokerInterest", dec(m.brokerInterest ?? 0, 4)],
        ["otherFees", dec(m.otherFees ?? 0, 4)],
        ["transactionTax", dec(m.transactionTax ?? 0, 4)],
        ["netTradesSales", dec(m.netTradesSales ?? 0, 4)],
        ["netTradesPurchases", dec(m.netTradesPurchases ?? 0, 4)],
        ["endingCash", dec(total, 4)],
        ["endingSettledCash", dec(total, 4)],
        ["levelOfDetail", currency === "BASE_SUMMARY" ? "BaseCurrency" : "Currency"],
      ]));
      count("CashReportCurrency");
    }
    await out.write("    </CashReport>\n");
    await out.write("    </FlexStatement>\n  </FlexStatements>\n</FlexQueryResponse>\n");
    await out.flush();
  } finally {
    file.close();
  }
  return {
    path,
    bytes: out.bytes,
    accountId: account,
    fromDate,
    toDate,
    rows,
    securityTrades,
    fxTrades,
  };
}

interface ExecutionFacts {
  /** Signed quantity, 10^-4 units. */
  readonly part: number;
  readonly price4: number;
  readonly money8: number;
  readonly commission4: number;
  readonly taxes4: number;
  readonly seconds: number;
}

/** Splits a signed quantity (10^-4 units) into `fills` parts, whole shares when it is whole. */
function splitQuantity(quantity4: number, fills: number, random: () => number): number[] {
  const sign = quantity4 < 0 ? -1 : 1;
  const whole = Math.abs(quantity4) % 1e4 === 0;
  const unit = whole ? 1e4 : 1;
  const units = Math.abs(quantity4) / unit;
  if (fills <= 1 || units < fills) return [quantity4];
  const parts: number[] = [];
  let left = units;
  for (let i = 0; i < fills - 1; i++) {
    const n = Math.max(1, Math.min(left - (fills - 1 - i), Math.round(left * random() * 0.7)));
    parts.push(sign * n * unit);
    left -= n;
  }
  parts.push(sign * left * unit);
  return parts;
}

/** IBKR's execution id shape, e.g. `0000e0d5.67a1b2c3.01.01`; unique per execution. */
function execId(n: number): string {
  return `0000e0d5.${n.toString(16).padStart(8, "0")}.01.01`;
}

function instrumentAttributes(account: string, i: Instrument, fxRate5: number) {
  return [
    ["accountId", account],
    ["acctAlias", "GIA"],
    ["currency", i.currency],
    ["fxRateToBase", dec(fxRate5, 5)],
    ["assetCategory", "STK"],
    ["subCategory", i.subCategory],
    ["symbol", i.symbol],
    ["description", i.description],
    ["conid", i.conid],
    ["cusip", i.cusip],
    ["isin", i.isin],
    ["figi", i.figi],
    ["listingExchange", i.listingExchange],
    ["underlyingConid", ""],
    ["underlyingSymbol", ""],
    ["issuerCountryCode", i.issuerCountryCode],
    ["multiplier", "1"],
    ["strike", ""],
    ["expiry", ""],
    ["putCall", ""],
  ] as const;
}

function tradeAttributes(t: {
  account: string;
  instrument: Instrument;
  day: string;
  dayIndex: number;
  days: readonly { date: string }[];
  e: ExecutionFacts;
  commissionCurrency: string;
  fxRate5: number;
  ibOrderID: number;
  orderType: string;
  orderTime: string;
  txId: number;
  tradeId: number;
  execId: string;
  cost4: number;
  realized4: number;
  closePrice4: number;
  random: () => number;
}): (readonly [string, string | number])[] {
  const { e, instrument: i } = t;
  const sell = e.part < 0;
  const commissionInTrade4 = t.commissionCurrency === i.currency ? e.commission4 : 0;
  const netCash8 = -e.money8 + (commissionInTrade4 + e.taxes4) * 1e4;
  const settle = t.days[Math.min(t.days.length - 1, t.dayIndex + (i.currency === "USD" ? 1 : 2))];
  const time = clock(e.seconds);
  return [
    ...instrumentAttributes(t.account, i, t.fxRate5),
    ["tradeID", t.tradeId],
    ["reportDate", t.day],
    ["tradeDate", t.day],
    ["dateTime", `${t.day};${time}`],
    ["settleDateTarget", settle.date],
    ["transactionType", "ExchTrade"],
    ["exchange", i.venues[Math.floor(t.random() * i.venues.length)]],
    ["quantity", dec(e.part, 4)],
    ["tradePrice", dec(e.price4, 4)],
    ["tradeMoney", dec(e.money8, 8)],
    ["proceeds", dec(-e.money8, 8)],
    ["taxes", dec(e.taxes4, 4)],
    ["ibCommission", dec(e.commission4, 4)],
    ["ibCommissionCurrency", t.commissionCurrency],
    ["netCash", dec(netCash8, 8)],
    ["netCashInBase", dec(Math.round((netCash8 / 1e8) * t.fxRate5 * 1e3), 8)],
    ["closePrice", dec(t.closePrice4, 4)],
    ["openCloseIndicator", sell ? "C" : "O"],
    ["notes", sell ? (t.random() < 0.3 ? "P" : "") : t.random() < 0.1 ? "R" : ""],
    ["cost", dec(t.cost4, 4)],
    ["fifoPnlRealized", dec(t.realized4, 4)],
    ["mtmPnl", dec(Math.round(((t.closePrice4 - e.price4) * e.part) / 1e4), 4)],
    ["origTradePrice", "0"],
    ["origTradeDate", ""],
    ["origTradeID", ""],
    ["origOrderID", "0"],
    ["origTransactionID", "0"],
    ["buySell", sell ? "SELL" : "BUY"],
    ["ibOrderID", t.ibOrderID],
    ["transactionID", t.txId],
    ["ibExecID", t.execId],
    ["relatedTransactionID", ""],
    ["orderReference", ""],
    ["orderTime", `${t.day};${t.orderTime}`],
    ["openDateTime", ""],
    ["whenRealized", sell ? `${t.day};${time}` : ""],
    ["levelOfDetail", "EXECUTION"],
    ["orderType", t.orderType],
    ["isAPIOrder", "N"],
    ["accruedInt", "0"],
  ];
}

function orderAttributes(o: {
  account: string;
  instrument: Instrument;
  day: string;
  time: string;
  quantity4: number;
  price4: number;
  money8: number;
  commission4: number;
  commissionCurrency: string;
  fxRate5: number;
  ibOrderID: number;
  orderType: string;
  isSell: boolean;
}): (readonly [string, string | number])[] {
  return [
    ...instrumentAttributes(o.account, o.instrument, o.fxRate5),
    ["tradeID", ""],
    ["reportDate", o.day],
    ["tradeDate", o.day],
    ["dateTime", `${o.day};${o.time}`],
    ["settleDateTarget", ""],
    ["transactionType", ""],
    ["exchange", "--"],
    ["quantity", dec(o.quantity4, 4)],
    ["tradePrice", dec(o.price4, 4)],
    ["tradeMoney", dec(o.money8, 8)],
    ["proceeds", dec(-o.money8, 8)],
    ["taxes", "0"],
    ["ibCommission", dec(o.commission4, 4)],
    ["ibCommissionCurrency", o.commissionCurrency],
    ["buySell", o.isSell ? "SELL" : "BUY"],
    ["ibOrderID", o.ibOrderID],
    ["transactionID", ""],
    ["ibExecID", ""],
    ["orderTime", `${o.day};${o.time}`],
    ["levelOfDetail", "ORDER"],
    ["orderType", o.orderType],
    ["isAPIOrder", "N"],
  ];
}

interface CashFacts {
  readonly instrument: Instrument | null;
  readonly currency: string;
  readonly amount4: number;
  readonly type: string;
  readonly description: string;
  readonly time: string;
  readonly actionID: string;
  readonly transactionID: number;
  readonly exDate: string;
  /** The CashReport field the amount counts towards. */
  readonly report: string;
}

function cashAttributes(
  account: string,
  day: string,
  c: CashFacts,
): (readonly [string, string | number])[] {
  const i = c.instrument;
  return [
    ["accountId", account],
    ["acctAlias", "GIA"],
    ["currency", c.currency],
    ["fxRateToBase", dec(Math.round((FX_TO_BASE[c.currency] ?? 1) * 1e5), 5)],
    ["assetCategory", i ? "STK" : ""],
    ["subCategory", i?.subCategory ?? ""],
    ["symbol", i?.symbol ?? ""],
    ["description", c.description],
    ["conid", i?.conid ?? ""],
    ["cusip", i?.cusip ?? ""],
    ["isin", i?.isin ?? ""],
    ["figi", i?.figi ?? ""],
    ["listingExchange", i?.listingExchange ?? ""],
    ["underlyingConid", ""],
    ["underlyingSymbol", ""],
    ["issuerCountryCode", i?.issuerCountryCode ?? ""],
    ["multiplier", i ? "1" : "0"],
    ["strike", ""],
    ["expiry", ""],
    ["putCall", ""],
    ["dateTime", c.time ? `${day};${c.time}` : day],
    ["settleDate", day],
    ["amount", dec(c.amount4, 4)],
    ["type", c.type],
    ["tradeID", ""],
    ["code", ""],
    ["transactionID", c.transactionID],
    ["reportDate", day],
    ["exDate", c.exDate],
    ["clientReference", ""],
    ["actionID", c.actionID],
    ["levelOfDetail", "DETAIL"],
    ["serialNumber", ""],
    ["deliveryType", ""],
    ["commodityType", ""],
    ["fineness", "0.0"],
    ["weight", "0.0 (0.0)"],
  ];
}

if (import.meta.main) {
  const [out, trades, cash] = Deno.args;
  if (!out) {
    console.error("usage: generate_statement.ts OUT.xml [trades] [cashTransactions]");
    Deno.exit(2);
  }
  const started = performance.now();
  const result = await generateStatement(out, {
    trades: trades === undefined ? undefined : Number(trades),
    cashTransactions: cash === undefined ? undefined : Number(cash),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${result.path}: ${result.bytes} bytes (${
      (result.bytes / 1e6).toFixed(1)
    } MB) in ${seconds} s, ` +
      `account ${result.accountId}, rows ${JSON.stringify(result.rows)}`,
  );
}
