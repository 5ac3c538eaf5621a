/**
 * IBKR instrument → the symbol we book a security under in Wealthfolio.
 *
 * Pure: no I/O. The rules come from ../shared/contracts/ibkr-flex.md §5 (venue table §5.1,
 * ticker quirks §5.2, OCC options §4.5) and wealthfolio-api.md §4.4/§4.10 (Wealthfolio splits a
 * Yahoo suffix into a MIC, `VUAG.L` → `VUAG` @ `XLON`, and keys assets by symbol + MIC).
 * "PP" below is Portfolio Performance's IBKR Flex importer, the main source of the table.
 *
 * @module
 */

/** Where a listing trades: the Yahoo suffix Wealthfolio understands and the ISO 10383 MIC. */
export interface Venue {
  /** IBKR `listingExchange` code, e.g. "LSEETF". */
  readonly code: string;
  /** Yahoo ticker suffix: "" for US listings, ".L", ".TO", … */
  readonly yahooSuffix: string;
  /** ISO 10383 market identifier code, e.g. "XLON". */
  readonly mic: string;
}

/** The symbol we book a security under. */
export interface SecuritySymbol {
  /** Yahoo form: "VUAG.L", "BRK-B", "BPF-UN.TO", "AAPL". */
  readonly symbol: string;
  /** ISO 10383 MIC of the listing; null only for the USD inference (venue "US?"). */
  readonly exchangeMic: string | null;
  /** The IBKR code used to pick the venue, or "US?" for the USD inference. */
  readonly venue: string;
}

/** Either a symbol, or a kebab-case reason why none can be derived without guessing. */
export type SymbolOutcome =
  | { readonly ok: true; readonly value: SecuritySymbol }
  | {
    readonly ok: false;
    /**
     * e.g. "unknown-venue:XYZ", "missing-venue:CHF", "corporate-action-placeholder-venue:VALUE",
     * "no-symbol".
     */
    readonly reason: string;
  };

/**
 * IBKR listing codes → Yahoo suffix and MIC, one venue per line (ibkr-flex.md §5.1).
 * Suffixes are PP's unless noted; MICs are the ISO 10383 operating/segment codes.
 */
const VENUES: readonly Venue[] = [
  // United States: no Yahoo suffix (PP comment; samples).
  { code: "NYSE", yahooSuffix: "", mic: "XNYS" },
  { code: "NASDAQ", yahooSuffix: "", mic: "XNAS" },
  { code: "ARCA", yahooSuffix: "", mic: "ARCX" },
  { code: "AMEX", yahooSuffix: "", mic: "XASE" },
  { code: "BATS", yahooSuffix: "", mic: "BATS" },
  { code: "IEX", yahooSuffix: "", mic: "IEXG" },
  { code: "PINK", yahooSuffix: "", mic: "OTCM" },
  { code: "CBOE", yahooSuffix: "", mic: "XCBO" },
  // Canada. IBKR's TSE is Toronto, not Tokyo (Tokyo is TSEJ); CoolONE's table gets this wrong.
  { code: "TSE", yahooSuffix: ".TO", mic: "XTSE" },
  { code: "VENTURE", yahooSuffix: ".V", mic: "XTSX" },
  // London. LSEETF → `.L` is the contract author's inference (seen in PP …File27.xml).
  { code: "LSE", yahooSuffix: ".L", mic: "XLON" },
  { code: "LSEETF", yahooSuffix: ".L", mic: "XLON" },
  { code: "LSEIOB1", yahooSuffix: ".IL", mic: "XLON" },
  // Germany. IBIS2 → `.DE` is the contract author's inference (PP …File25/26.xml).
  { code: "IBIS", yahooSuffix: ".DE", mic: "XETR" },
  { code: "IBIS2", yahooSuffix: ".DE", mic: "XETR" },
  { code: "FWB", yahooSuffix: ".F", mic: "XFRA" },
  { code: "FWB2", yahooSuffix: ".F", mic: "XFRA" },
  { code: "SWB", yahooSuffix: ".SG", mic: "XSTU" },
  // Tradegate → `.DE`/XETR follows PP's mapping, not Tradegate's own MIC.
  { code: "TGATE", yahooSuffix: ".DE", mic: "XETR" },
  // gettex is operated by Börse München, so `.MU`/XMUN is OUR inference; the contract (§5.1)
  // found no source for a GETTEX2 suffix.
  { code: "GETTEX2", yahooSuffix: ".MU", mic: "XMUN" },
  // Euronext and other European venues.
  { code: "AEB", yahooSuffix: ".AS", mic: "XAMS" },
  { code: "SBF", yahooSuffix: ".PA", mic: "XPAR" },
  { code: "ENEXT.BE", yahooSuffix: ".BR", mic: "XBRU" },
  { code: "BVL", yahooSuffix: ".LS", mic: "XLIS" },
  { code: "BVME", yahooSuffix: ".MI", mic: "XMIL" },
  { code: "ISED", yahooSuffix: ".IR", mic: "XDUB" },
  { code: "EBS", yahooSuffix: ".SW", mic: "XSWX" },
  { code: "SWX", yahooSuffix: ".SW", mic: "XSWX" },
  { code: "VSE", yahooSuffix: ".VI", mic: "XWBO" },
  { code: "BM", yahooSuffix: ".MC", mic: "XMAD" },
  { code: "SFB", yahooSuffix: ".ST", mic: "XSTO" },
  { code: "OSE", yahooSuffix: ".OL", mic: "XOSL" },
  { code: "OMXNO", yahooSuffix: ".OL", mic: "XOSL" },
  { code: "CPH", yahooSuffix: ".CO", mic: "XCSE" },
  { code: "HEX", yahooSuffix: ".HE", mic: "XHEL" },
  { code: "WSE", yahooSuffix: ".WA", mic: "XWAR" },
  { code: "PRA", yahooSuffix: ".PR", mic: "XPRA" },
  { code: "BUX", yahooSuffix: ".BD", mic: "XBUD" },
  { code: "N.RIGA", yahooSuffix: ".RG", mic: "XRIS" },
  { code: "N.TALLINN", yahooSuffix: ".TL", mic: "XTAL" },
  { code: "N.VILNIUS", yahooSuffix: ".VS", mic: "XLIT" },
  // Asia-Pacific, including China Connect (Shanghai `.SS`, Shenzhen `.SZ`).
  { code: "SEHK", yahooSuffix: ".HK", mic: "XHKG" },
  { code: "SEHKNTL", yahooSuffix: ".SS", mic: "XSHG" },
  { code: "SEHKSTAR", yahooSuffix: ".SS", mic: "XSHG" },
  { code: "SEHKSZSE", yahooSuffix: ".SZ", mic: "XSHE" },
  { code: "CHINEXT", yahooSuffix: ".SZ", mic: "XSHE" },
  { code: "TSEJ", yahooSuffix: ".T", mic: "XTKS" },
  { code: "SGX", yahooSuffix: ".SI", mic: "XSES" },
  { code: "NSE", yahooSuffix: ".NS", mic: "XNSE" },
  { code: "TWSE", yahooSuffix: ".TW", mic: "XTAI" },
  { code: "ASX", yahooSuffix: ".AX", mic: "XASX" },
  // Americas and Africa.
  { code: "MEXI", yahooSuffix: ".MX", mic: "XMEX" },
  { code: "BOVESPA", yahooSuffix: ".SA", mic: "BVMF" },
  { code: "JSE", yahooSuffix: ".JO", mic: "XJSE" },
];

const VENUE_BY_CODE: ReadonlyMap<string, Venue> = new Map(VENUES.map((v) => [v.code, v]));

/**
 * Codes IBKR puts in `listingExchange` on corporate-action legs (jal `ibkr.xml`, PP …File23.xml).
 * They name no market, so no quote symbol can be built from them (ibkr-flex.md §5.1).
 */
const PLACEHOLDER_CODES: ReadonlySet<string> = new Set(["VALUE", "CORPACT"]);

/** Toronto writes units/classes with a dot (`BPF.UN`); Yahoo uses a hyphen (§5.2). */
const DOT_TO_HYPHEN_CODES: ReadonlySet<string> = new Set(["TSE", "VENTURE"]);

/** LSE tickers such as `RR.`/`BA.` carry a trailing dot that must go before `.L` (§5.2). */
const TRAILING_DOT_CODES: ReadonlySet<string> = new Set(["LSE", "LSEETF"]);

/** Asset categories whose symbol is an OCC option symbol (§4.5). */
const OPTION_CATEGORIES: ReadonlySet<string> = new Set(["OPT", "FOP"]);

/** The venue recorded when we fall back to "a USD instrument with no venue is US-listed". */
const US_INFERENCE = "US?";

/**
 * Looks up an IBKR listing code in the venue table (exact, after trimming).
 *
 * @example venueOf("LSEETF") // → { code: "LSEETF", yahooSuffix: ".L", mic: "XLON" }
 */
export function venueOf(code: string): Venue | undefined {
  return VENUE_BY_CODE.get(code.trim());
}

/**
 * Removes the padding spaces IBKR puts inside OCC option symbols; Yahoo and Wealthfolio's OCC
 * detection expect the compact form (ibkr-flex.md §4.5, as PP does).
 *
 * @example occSymbol("XOM   220121C00042500") // → "XOM220121C00042500"
 */
export function occSymbol(symbol: string): string {
  return symbol.replace(/\s+/g, "");
}

/** Non-empty trimmed value, or undefined. */
function present(value: string | null): string | undefined {
  const trimmed = value?.trim() ?? "";
  return trimmed === "" ? undefined : trimmed;
}

type VenueChoice =
  | { readonly ok: true; readonly code: string; readonly venue: Venue | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * Picks the venue. `listingExchange` is the primary listing; `exchange` is only the execution
 * venue (ISLAND, GETTEX2, TRWBUKETF, IDEALFX, "--"), which is why PP's use of it yields wrong
 * suffixes (§5.1). `venue: undefined` means the USD inference.
 */
function chooseVenue(
  listingExchange: string | null,
  exchange: string | null,
  currency: string | null,
): VenueChoice {
  const listing = present(listingExchange);
  if (listing !== undefined) return byCode(listing);

  // Older exports have no listingExchange. Trust `exchange` only when it names a venue we know
  // (e.g. TSE in PP …File01.xml); a routing venue tells us nothing about the listing.
  const execution = present(exchange);
  if (
    execution !== undefined && (VENUE_BY_CODE.has(execution) || PLACEHOLDER_CODES.has(execution))
  ) {
    return byCode(execution);
  }

  // The one inference we make: an old export without listingExchange, executed on one of IBKR's
  // US routing venues (ISLAND, DRCTEDGE, EDGX, BOX, … — deliberately not in the table), in USD.
  // Such rows are overwhelmingly US listings, and a bare ticker with no MIC is exactly what
  // Wealthfolio books for a US equity. Anything else would be guessing a suffix, so we refuse.
  if (currency?.trim() === "USD") return { ok: true, code: US_INFERENCE, venue: undefined };
  // A routing venue names something we can show; nothing at all is a missing venue, named by the
  // currency that stopped the inference (the fix is to tick listingExchange in the Flex query).
  if (execution !== undefined && execution !== "--") {
    return { ok: false, reason: `unknown-venue:${execution}` };
  }
  return { ok: false, reason: `missing-venue:${present(currency) ?? "none"}` };
}

function byCode(code: string): VenueChoice {
  if (PLACEHOLDER_CODES.has(code)) {
    return { ok: false, reason: `corporate-action-placeholder-venue:${code}` };
  }
  const venue = VENUE_BY_CODE.get(code);
  return venue === undefined
    ? { ok: false, reason: `unknown-venue:${code}` }
    : { ok: true, code, venue };
}

/**
 * Applies the documented IBKR → Yahoo ticker quirks (ibkr-flex.md §5.2) and appends the suffix.
 * Returns "" if nothing of the ticker is left.
 */
function yahooTicker(raw: string, code: string, suffix: string): string {
  // Share classes: IBKR `BRK B`, Yahoo `BRK-B` (PP and agusalex do the same).
  let ticker = raw.trim().replace(/\s+/g, "-");
  // A symbol already carrying its venue's suffix (PP …File27.xml `EQQQ.L` on LSEETF) must not be
  // suffixed twice. Split it off first, so the Toronto dot rule cannot mangle an existing `.TO`.
  if (suffix !== "" && ticker.length > suffix.length && ticker.endsWith(suffix)) {
    ticker = ticker.slice(0, -suffix.length);
  }
  // Toronto units/classes: `BPF.UN` → `BPF-UN` (PP …File20.xml; Yahoo form per the contract).
  if (DOT_TO_HYPHEN_CODES.has(code)) ticker = ticker.replaceAll(".", "-");
  // LSE trailing dot: `RR.` → `RR` before `.L`.
  if (TRAILING_DOT_CODES.has(code) && ticker.endsWith(".")) ticker = ticker.slice(0, -1);
  // Trailing lowercase venue letters (`BMWd`, `CHSPIz`, `XRH0l`): PP strips `[a-z]*$`. We do it
  // for every non-US venue (even in USD, cf. `XRH0l` on LSE) and never for US tickers, where a
  // lowercase tail is not a venue marker. A fully lowercase ticker is left alone.
  if (suffix !== "") ticker = ticker.replace(/(?<=[^a-z])[a-z]+$/, "");
  return ticker === "" ? "" : ticker + suffix;
}

/**
 * Derives the Yahoo-form symbol and MIC for an IBKR instrument row, or says why it cannot.
 * Options (OPT/FOP) keep their OCC symbol, compacted, and must trade on a US venue.
 *
 * @example
 * securitySymbol({ symbol: "BPF.UN", listingExchange: "TSE", exchange: "TSE", currency: "CAD",
 *   assetCategory: "STK" })
 * // → { ok: true, value: { symbol: "BPF-UN.TO", exchangeMic: "XTSE", venue: "TSE" } }
 */
export function securitySymbol(row: {
  symbol: string | null;
  listingExchange: string | null;
  exchange: string | null;
  currency: string | null;
  assetCategory: string | null;
}): SymbolOutcome {
  const raw = present(row.symbol);
  if (raw === undefined || raw === "--") return { ok: false, reason: "no-symbol" };

  const choice = chooseVenue(row.listingExchange, row.exchange, row.currency);
  if (!choice.ok) return choice;
  const { code, venue } = choice;
  const suffix = venue?.yahooSuffix ?? "";
  const exchangeMic = venue?.mic ?? null;

  if (OPTION_CATEGORIES.has(row.assetCategory?.trim() ?? "")) {
    // OCC symbology is the US options convention (Options Clearing Corporation); a Yahoo suffix
    // would break it, and a non-US option symbol is not in OCC form, so we do not book one.
    if (suffix !== "") return { ok: false, reason: `non-us-option-venue:${code}` };
    return { ok: true, value: { symbol: occSymbol(raw), exchangeMic, venue: code } };
  }

  const symbol = yahooTicker(raw, code, suffix);
  if (symbol === "") return { ok: false, reason: "no-symbol" };
  return { ok: true, value: { symbol, exchangeMic, venue: code } };
}

/**
 * The Yahoo suffix Wealthfolio would give a listing on `mic` (the first venue of the table on that
 * MIC), "" for US markets, or undefined for a MIC not in the table.
 *
 * @example yahooSuffixOfMic("XLON") // → ".L"
 */
export function yahooSuffixOfMic(mic: string): string | undefined {
  return VENUES.find((v) => v.mic === mic)?.yahooSuffix;
}

/**
 * Splits a Yahoo-form symbol into its ticker and the MIC its suffix names, the way Wealthfolio
 * turns `VUAG.L` into `VUAG` @ `XLON`; undefined when the symbol carries no suffix we know.
 *
 * @example splitYahooSuffix("BPF-UN.TO") // → { ticker: "BPF-UN", mic: "XTSE" }
 */
export function splitYahooSuffix(symbol: string): { ticker: string; mic: string } | undefined {
  const dot = symbol.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const suffix = symbol.slice(dot);
  const venue = VENUES.find((v) => v.yahooSuffix === suffix);
  return venue ? { ticker: symbol.slice(0, dot), mic: venue.mic } : undefined;
}

/**
 * The ticker without its Yahoo suffix, as Wealthfolio keys an asset together with its MIC
 * (wealthfolio-api.md §4.10: `instrumentSymbol` `VUAG` @ `XLON`, instrument key
 * `EQUITY:VUAG@XLON`). Only a suffix of a venue with that MIC is removed.
 *
 * @example bareTicker("VUAG.L", "XLON") // → "VUAG"; bareTicker("BRK-B", "XNYS") // → "BRK-B"
 */
export function bareTicker(symbol: string, exchangeMic: string | null): string {
  for (const v of VENUES) {
    if (v.mic !== exchangeMic || v.yahooSuffix === "") continue;
    if (symbol.length > v.yahooSuffix.length && symbol.endsWith(v.yahooSuffix)) {
      return symbol.slice(0, -v.yahooSuffix.length);
    }
  }
  return symbol;
}

/**
 * What is booked under a symbol: its symbol and MIC with the instrument's own `fields` (type,
 * price…), or the reason there is no symbol. The venue code stays behind: it only chose the symbol.
 *
 * @example bookedUnder(securitySymbol({ symbol: "AAPL", … }), { instrumentType: "EQUITY" })
 * // → { ok: true, value: { symbol: "AAPL", exchangeMic: "XNAS", instrumentType: "EQUITY" } }
 */
export function bookedUnder<const T extends object>(
  outcome: SymbolOutcome,
  fields: T,
):
  | { readonly ok: true; readonly value: { symbol: string; exchangeMic: string | null } & T }
  | { readonly ok: false; readonly reason: string } {
  if (!outcome.ok) return outcome;
  return {
    ok: true,
    value: { symbol: outcome.value.symbol, exchangeMic: outcome.value.exchangeMic, ...fields },
  };
}
