import assert from "node:assert/strict";
import {
  occSymbol,
  securitySymbol,
  type SymbolOutcome,
  venueOf,
} from "../../src/mapping/symbols.ts";
import { filesUnder } from "../support/files.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";

type Row = Parameters<typeof securitySymbol>[0];

function stock(
  symbol: string | null,
  listingExchange: string | null,
  over: Partial<Row> = {},
): Row {
  return {
    symbol,
    listingExchange,
    exchange: null,
    currency: "USD",
    assetCategory: "STK",
    ...over,
  };
}

function okSymbol(outcome: SymbolOutcome): string {
  assert.ok(outcome.ok, `expected a symbol, got ${JSON.stringify(outcome)}`);
  return outcome.value.symbol;
}

// Written out by hand from ibkr-flex.md §5.1 and the brief, not derived from the module.
const EXPECTED_VENUES: ReadonlyArray<readonly [code: string, suffix: string, mic: string]> = [
  ["NYSE", "", "XNYS"],
  ["NASDAQ", "", "XNAS"],
  ["ARCA", "", "ARCX"],
  ["AMEX", "", "XASE"],
  ["BATS", "", "BATS"],
  ["IEX", "", "IEXG"],
  ["PINK", "", "OTCM"],
  ["CBOE", "", "XCBO"],
  ["TSE", ".TO", "XTSE"],
  ["VENTURE", ".V", "XTSX"],
  ["LSE", ".L", "XLON"],
  ["LSEETF", ".L", "XLON"],
  ["LSEIOB1", ".IL", "XLON"],
  ["IBIS", ".DE", "XETR"],
  ["IBIS2", ".DE", "XETR"],
  ["FWB", ".F", "XFRA"],
  ["FWB2", ".F", "XFRA"],
  ["SWB", ".SG", "XSTU"],
  ["TGATE", ".DE", "XETR"],
  ["GETTEX2", ".MU", "XMUN"],
  ["AEB", ".AS", "XAMS"],
  ["SBF", ".PA", "XPAR"],
  ["ENEXT.BE", ".BR", "XBRU"],
  ["BVL", ".LS", "XLIS"],
  ["BVME", ".MI", "XMIL"],
  ["ISED", ".IR", "XDUB"],
  ["EBS", ".SW", "XSWX"],
  ["SWX", ".SW", "XSWX"],
  ["VSE", ".VI", "XWBO"],
  ["BM", ".MC", "XMAD"],
  ["SFB", ".ST", "XSTO"],
  ["OSE", ".OL", "XOSL"],
  ["OMXNO", ".OL", "XOSL"],
  ["CPH", ".CO", "XCSE"],
  ["HEX", ".HE", "XHEL"],
  ["WSE", ".WA", "XWAR"],
  ["PRA", ".PR", "XPRA"],
  ["BUX", ".BD", "XBUD"],
  ["N.RIGA", ".RG", "XRIS"],
  ["N.TALLINN", ".TL", "XTAL"],
  ["N.VILNIUS", ".VS", "XLIT"],
  ["SEHK", ".HK", "XHKG"],
  ["SEHKNTL", ".SS", "XSHG"],
  ["SEHKSTAR", ".SS", "XSHG"],
  ["SEHKSZSE", ".SZ", "XSHE"],
  ["CHINEXT", ".SZ", "XSHE"],
  ["TSEJ", ".T", "XTKS"],
  ["SGX", ".SI", "XSES"],
  ["NSE", ".NS", "XNSE"],
  ["TWSE", ".TW", "XTAI"],
  ["ASX", ".AX", "XASX"],
  ["MEXI", ".MX", "XMEX"],
  ["BOVESPA", ".SA", "BVMF"],
  ["JSE", ".JO", "XJSE"],
];

Deno.test("every venue code in the contract table maps to its Yahoo suffix and MIC", () => {
  for (const [code, suffix, mic] of EXPECTED_VENUES) {
    assert.deepEqual(venueOf(code), { code, yahooSuffix: suffix, mic }, code);
    assert.deepEqual(
      securitySymbol(stock("ABC", code, { currency: "XXX" })),
      { ok: true, value: { symbol: `ABC${suffix}`, exchangeMic: mic, venue: code } },
      code,
    );
  }
});

Deno.test("TSE is Toronto, not Tokyo; Tokyo is TSEJ", () => {
  assert.deepEqual(securitySymbol(stock("RY", "TSE", { currency: "CAD" })), {
    ok: true,
    value: { symbol: "RY.TO", exchangeMic: "XTSE", venue: "TSE" },
  });
  assert.equal(venueOf("TSEJ")?.mic, "XTKS");
});

Deno.test("share class written with a space becomes a hyphen", () => {
  assert.deepEqual(securitySymbol(stock("BRK B", "NYSE")), {
    ok: true,
    value: { symbol: "BRK-B", exchangeMic: "XNYS", venue: "NYSE" },
  });
});

Deno.test("Toronto unit dots become hyphens before the .TO suffix", () => {
  assert.equal(okSymbol(securitySymbol(stock("BPF.UN", "TSE", { currency: "CAD" }))), "BPF-UN.TO");
  assert.equal(okSymbol(securitySymbol(stock("EIT.UN", "TSE", { currency: "USD" }))), "EIT-UN.TO");
  assert.equal(okSymbol(securitySymbol(stock("ABC.A", "VENTURE", { currency: "CAD" }))), "ABC-A.V");
});

Deno.test("dots are not turned into hyphens outside Toronto", () => {
  assert.equal(
    okSymbol(securitySymbol(stock("ZT0.NEW", "FWB2", { currency: "EUR" }))),
    "ZT0.NEW.F",
  );
});

Deno.test("LSE trailing dot is stripped before .L", () => {
  assert.equal(okSymbol(securitySymbol(stock("RR.", "LSE", { currency: "GBP" }))), "RR.L");
  assert.equal(okSymbol(securitySymbol(stock("BA.", "LSE", { currency: "GBP" }))), "BA.L");
});

Deno.test("a symbol already carrying its venue suffix is not suffixed twice", () => {
  assert.deepEqual(securitySymbol(stock("EQQQ.L", "LSEETF", { currency: "GBP" })), {
    ok: true,
    value: { symbol: "EQQQ.L", exchangeMic: "XLON", venue: "LSEETF" },
  });
  assert.equal(
    okSymbol(securitySymbol(stock("BPF.UN.TO", "TSE", { currency: "CAD" }))),
    "BPF-UN.TO",
  );
});

Deno.test("trailing lowercase venue letters are stripped for non-US venues", () => {
  assert.equal(okSymbol(securitySymbol(stock("BMWd", "IBIS", { currency: "EUR" }))), "BMW.DE");
  assert.equal(okSymbol(securitySymbol(stock("CHSPIz", "EBS", { currency: "CHF" }))), "CHSPI.SW");
  // Stripped even when the line trades in USD: the venue decides, not the currency.
  assert.equal(okSymbol(securitySymbol(stock("XRH0l", "LSE", { currency: "USD" }))), "XRH0.L");
});

Deno.test("trailing lowercase letters are kept on US symbols", () => {
  assert.equal(okSymbol(securitySymbol(stock("ABCd", "NYSE"))), "ABCd");
  assert.equal(okSymbol(securitySymbol(stock("ABCd", "", { exchange: "ISLAND" }))), "ABCd");
});

Deno.test("missing listingExchange falls back to exchange when it is a known venue", () => {
  assert.deepEqual(securitySymbol(stock("BPF.UN", "", { exchange: "TSE", currency: "CAD" })), {
    ok: true,
    value: { symbol: "BPF-UN.TO", exchangeMic: "XTSE", venue: "TSE" },
  });
  assert.deepEqual(securitySymbol(stock("RY", null, { exchange: "TSE", currency: "CAD" })), {
    ok: true,
    value: { symbol: "RY.TO", exchangeMic: "XTSE", venue: "TSE" },
  });
});

Deno.test("listingExchange wins over the execution exchange", () => {
  assert.deepEqual(
    securitySymbol(stock("1XJ", "GETTEX2", { exchange: "TRQXDE", currency: "EUR" })),
    {
      ok: true,
      value: { symbol: "1XJ.MU", exchangeMic: "XMUN", venue: "GETTEX2" },
    },
  );
  assert.equal(okSymbol(securitySymbol(stock("AAPL", "NASDAQ", { exchange: "IBIS" }))), "AAPL");
});

Deno.test("missing venue in USD is inferred as a US listing without a MIC", () => {
  const expected = { ok: true, value: { symbol: "AAPL", exchangeMic: null, venue: "US?" } };
  assert.deepEqual(securitySymbol(stock("AAPL", null, { exchange: null })), expected);
  assert.deepEqual(securitySymbol(stock("AAPL", "", { exchange: "ISLAND" })), expected);
  assert.deepEqual(securitySymbol(stock("AAPL", " ", { exchange: "--" })), expected);
});

Deno.test("missing venue in a non-USD currency is a missing venue named by its currency, never a guessed suffix", () => {
  assert.deepEqual(securitySymbol(stock("SAP", null, { exchange: null, currency: "EUR" })), {
    ok: false,
    reason: "missing-venue:EUR",
  });
  assert.deepEqual(securitySymbol(stock("FHZN", " ", { exchange: "--", currency: "CHF" })), {
    ok: false,
    reason: "missing-venue:CHF",
  });
  assert.deepEqual(securitySymbol(stock("SAP", "", { exchange: "--", currency: null })), {
    ok: false,
    reason: "missing-venue:none",
  });
});

Deno.test("a routing venue we do not know, without a listing, is named in the reason", () => {
  assert.deepEqual(securitySymbol(stock("SAP", "", { exchange: "TRQXDE", currency: "EUR" })), {
    ok: false,
    reason: "unknown-venue:TRQXDE",
  });
});

Deno.test("no skip reason ever ends in an empty detail", () => {
  for (const listing of [null, "", " ", "--"]) {
    for (const exchange of [null, "", " ", "--"]) {
      for (const currency of [null, "", "EUR", "CHF"]) {
        const outcome = securitySymbol(stock("SAP", listing, { exchange, currency }));
        assert.equal(outcome.ok, false);
        if (!outcome.ok) assert.match(outcome.reason, /:[^:\s]+$/, outcome.reason);
      }
    }
  }
});

Deno.test("VALUE and CORPACT corporate-action placeholders never yield a symbol", () => {
  assert.deepEqual(securitySymbol(stock("MYL.OLD", "VALUE")), {
    ok: false,
    reason: "corporate-action-placeholder-venue:VALUE",
  });
  assert.deepEqual(securitySymbol(stock("CORT.OD2", "CORPACT")), {
    ok: false,
    reason: "corporate-action-placeholder-venue:CORPACT",
  });
  // Also when the placeholder only shows up in `exchange` of an old export: no USD fallback.
  assert.deepEqual(securitySymbol(stock("DM", "", { exchange: "VALUE" })), {
    ok: false,
    reason: "corporate-action-placeholder-venue:VALUE",
  });
  assert.equal(venueOf("VALUE"), undefined);
  assert.equal(venueOf("CORPACT"), undefined);
});

Deno.test("an unknown listingExchange is rejected with its code, even in USD", () => {
  assert.deepEqual(securitySymbol(stock("FOO", "XYZ")), { ok: false, reason: "unknown-venue:XYZ" });
  assert.equal(venueOf("XYZ"), undefined);
});

Deno.test("occSymbol removes the padding spaces of an OCC option symbol", () => {
  assert.equal(occSymbol("XOM   220121C00042500"), "XOM220121C00042500");
  assert.equal(occSymbol("SPY   200529C00295000"), "SPY200529C00295000");
});

Deno.test("options are booked under their compact OCC symbol on a US venue", () => {
  const option = (over: Partial<Row>): Row =>
    stock("CLNE  230915C00010000", "CBOE", { assetCategory: "OPT", ...over });
  assert.deepEqual(securitySymbol(option({})), {
    ok: true,
    value: { symbol: "CLNE230915C00010000", exchangeMic: "XCBO", venue: "CBOE" },
  });
  assert.deepEqual(securitySymbol(option({ listingExchange: "", exchange: "BOX" })), {
    ok: true,
    value: { symbol: "CLNE230915C00010000", exchangeMic: null, venue: "US?" },
  });
  assert.deepEqual(
    securitySymbol(option({ listingExchange: "", exchange: "PEARL", currency: "CAD" })),
    { ok: false, reason: "unknown-venue:PEARL" },
  );
});

Deno.test("an option on a non-US venue is not booked under a made-up symbol", () => {
  assert.deepEqual(
    securitySymbol(
      stock("SAP   240621C00160000", "IBIS", { assetCategory: "OPT", currency: "EUR" }),
    ),
    { ok: false, reason: "non-us-option-venue:IBIS" },
  );
});

Deno.test("a missing, empty or -- symbol yields no-symbol", () => {
  for (const symbol of [null, "", "   ", "--"]) {
    assert.deepEqual(securitySymbol(stock(symbol, "NYSE")), { ok: false, reason: "no-symbol" });
  }
  assert.deepEqual(securitySymbol(stock(".", "LSE", { currency: "GBP" })), {
    ok: false,
    reason: "no-symbol",
  });
});

Deno.test("every listingExchange in the sample statements is a known venue or a placeholder", async () => {
  const unknown = new Set<string>();
  let files = 0;
  let values = 0;
  for (const path of filesUnder(`${REPO_ROOT}/../shared/flex-samples`, ".xml")) {
    files++;
    const text = await Deno.readTextFile(path);
    for (const match of text.matchAll(/listingExchange="([^"]*)"/g)) {
      const code = match[1]?.trim() ?? "";
      if (code === "") continue;
      values++;
      if (venueOf(code) === undefined && code !== "VALUE" && code !== "CORPACT") {
        unknown.add(`${code} (${path})`);
      }
    }
  }
  assert.ok(files > 0, "no sample XML files found");
  assert.ok(values > 0, "no listingExchange values found");
  assert.deepEqual([...unknown], []);
});
