/**
 * Corporate actions, from the attribute text IBKR writes (contracts/ibkr-flex.md §2.6, §4.7)
 * through the real reader and StatementMapper. Positions the journal would hold come from trades
 * mapped the same way (`costBasisOf`).
 */
import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import { splitRatio } from "../../src/mapping/corporate_actions.ts";
import {
  ACCOUNT,
  type Attributes,
  corporateAction,
  costBasisOf,
  flexDocument,
  mapDocument,
  mapSections,
  mapSectionsWith,
  mapTrades,
  trade,
} from "./_rows.ts";

const K = (id: string) => `ibkr:${ACCOUNT}:${id}`;
const actions = (...rows: string[]) => `<CorporateActions>${rows.join("")}</CorporateActions>`;

/** A BUY of `quantity` at `price` with `commission` (negative, IBKR's sign) of one security. */
function buy(
  security: Attributes,
  id: string,
  quantity: string,
  price: string,
  commission = "0",
): string {
  return trade({
    ...security,
    description: `${security.symbol} CORP`,
    transactionID: id,
    tradeID: `9${id}`,
    quantity,
    tradePrice: price,
    ibCommission: commission,
    tradeDate: "20250110",
    dateTime: "20250110;100000",
  });
}

/** What the journal would hold after these trades. */
const holding = (...trades: string[]) => costBasisOf(mapTrades(...trades).activities);

const XYZ = {
  symbol: "XYZ",
  conid: "100001",
  isin: "US9999000011",
  listingExchange: "NASDAQ",
};
const ABC = {
  symbol: "ABC",
  conid: "100101",
  isin: "US9999000102",
  listingExchange: "NYSE",
};

/**
 * A leg of an action of `type` on 2025-03-10 (actionID 150000002). Legs of one action share the
 * action text; only the `(SYMBOL, NAME, ID)` tail is the leg's own.
 */
function leg(type: string, over: Attributes): string {
  return corporateAction({
    type,
    actionID: "150000002",
    reportDate: "20250311",
    dateTime: "20250310;202500",
    description: `ABC(US9999000102) ACTION ${type} (${over.symbol ?? "AMZN"}, SOME NAME, ${
      over.isin ?? "US0231351067"
    })`,
    ...over,
  });
}

// ---- splits ------------------------------------------------------------------------------------

Deno.test("a forward split (one row, same ISIN) is a SPLIT whose amount is IBKR's ratio 5 FOR 4 = 1.25", () => {
  const mapped = mapSections(actions(corporateAction()));
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.amount,
      a.quantity,
      a.unitPrice,
      a.currency,
      a.groupKey,
      a.date,
    ]),
    [[
      K("33000001"),
      "SPLIT",
      "AMZN",
      "XNAS",
      "1.25",
      null,
      null,
      "USD",
      `ibkr:${ACCOUNT}:corporate-action:142000001`,
      // Stamped 20:25 ET: kept on IBKR's business date, a second before anything else IBKR
      // stamps 20:25 that day.
      "2025-06-05T23:59:58Z",
    ]],
  );
  assert.deepEqual(mapped.skipped, []);
});

Deno.test("a forward split is checked against the position the journal holds: 217 × 0.25 = 54.25 is a SPLIT, 200 shares are not", () => {
  const amzn = { symbol: "AMZN", conid: "3691937", isin: "US0231351067" };
  const agrees = mapSectionsWith(actions(corporateAction()), holding(buy(amzn, "1", "217", "180")));
  assert.deepEqual(agrees.activities.map((a) => [a.activityType, a.amount]), [["SPLIT", "1.25"]]);

  // IBKR's quantity wins over a ratio that does not reproduce it: the added shares come in at
  // zero cost, so the position's cost is unchanged, as a split leaves it.
  const disagrees = mapSectionsWith(
    actions(corporateAction()),
    holding(buy(amzn, "1", "200", "180")),
  );
  assert.deepEqual(
    disagrees.activities.map((a) => [a.activityType, a.symbol, a.quantity, a.unitPrice]),
    [["TRANSFER_IN", "AMZN", "54.25", "0"]],
  );
});

Deno.test("the position a split is checked against leaves out the sale of its fraction, which IBKR stamps with the split's own time", () => {
  const amzn = { symbol: "AMZN", conid: "3691937", isin: "US0231351067" };
  const journal = holding(
    buy(amzn, "1", "101", "180"),
    trade({
      ...amzn,
      transactionID: "2",
      transactionType: "FracShare",
      tradeID: "",
      quantity: "-0.5",
      tradePrice: "150",
      tradeDate: "20250605",
      dateTime: "20250605;202500",
    }),
  );
  // 3 FOR 2 on 101 shares adds 50.5; IBKR sells the half share the same evening.
  const mapped = mapSectionsWith(
    actions(corporateAction({
      description: "AMZN(US0231351067) SPLIT 3 FOR 2 (AMZN, AMAZON.COM INC, US0231351067)",
      quantity: "50.5",
    })),
    journal,
  );
  assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.amount]), [["SPLIT", "1.5"]]);
});

Deno.test("a split ratio with no exact decimal (4 FOR 3) is never rounded: the added shares come in at zero cost", () => {
  const mapped = mapSections(actions(corporateAction({
    description: "AMZN(US0231351067) SPLIT 4 FOR 3 (AMZN, AMAZON.COM INC, US0231351067)",
    quantity: "10",
  })));
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.quantity, a.unitPrice, a.amount]),
    [["TRANSFER_IN", "10", "0", null]],
  );
  assert.match(mapped.activities[0].notes ?? "", /zero cost/);
});

Deno.test("a split comes before the sale of its fractional entitlement, which IBKR stamps with the same time", () => {
  const mapped = mapSections(
    `<Trades>${
      trade({
        symbol: "AMZN",
        conid: "3691937",
        transactionType: "FracShare",
        tradeID: "",
        quantity: "-0.25",
        tradePrice: "180",
        proceeds: "45",
        tradeDate: "20250605",
        dateTime: "20250605;202500",
      })
    }</Trades>` + actions(corporateAction()),
  );
  const [sale, split] = mapped.activities;
  assert.deepEqual([sale.activityType, split.activityType], ["SELL", "SPLIT"]);
  assert.ok(split.date < sale.date, `${split.date} before ${sale.date}`);
});

Deno.test("splitRatio reads N FOR M as N/M, and refuses a ratio without an exact decimal", () => {
  assert.equal(splitRatio("AMZN(US0231351067) SPLIT 5 FOR 4 (AMZN, …)")?.toFixed(), "1.25");
  assert.equal(splitRatio("GE(US3696041033) SPLIT 1 FOR 8 (GE, …)")?.toFixed(), "0.125");
  assert.equal(splitRatio("TWOH(US90187E3036) SPLIT 1 FOR 1000 (…)")?.toFixed(), "0.001");
  assert.equal(splitRatio("X SPLIT 1 FOR 3"), null);
  assert.equal(splitRatio("GE(US3696041033) SPINOFF 1 FOR 11"), null);
  assert.equal(splitRatio(null), null);
});

Deno.test("a reverse split on one security in two legs (−104, +13 for 1 FOR 8) is one SPLIT 0.125; the old leg says it was booked with it", () => {
  const ge = {
    symbol: "GE",
    conid: "7516",
    isin: "US3696041033",
    listingExchange: "NYSE",
    description: "GE(US3696041033) SPLIT 1 FOR 8 (GE, GENERAL ELECTRIC CO, US3696041033)",
  };
  const mapped = mapSections(actions(
    leg("RS", { ...ge, quantity: "-104", transactionID: "33000010" }),
    leg("RS", { ...ge, quantity: "13", transactionID: "33000011" }),
  ));
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.symbol, a.amount]),
    [[K("33000011"), "SPLIT", "GE", "0.125"]],
  );
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("33000010"), `booked-with:${K("33000011")}`],
  ]);
});

Deno.test("a reverse split with a new ISIN moves the journal's FIFO cost: out 150 XYZ (as booked, not XYZ.OLD), in 15 XYZD at 1602/15 = 106.8", () => {
  const journal = holding(buy(XYZ, "1", "100", "10", "-2"), buy(XYZ, "2", "50", "12"));
  const description = (tail: string) => `XYZ(US9999000011) SPLIT 1 FOR 10 (${tail})`;
  const mapped = mapSectionsWith(
    actions(
      leg("RS", {
        ...XYZ,
        symbol: "XYZ.OLD",
        listingExchange: "VALUE",
        description: description("XYZ.OLD, XYZ CORP, US9999000011"),
        quantity: "-150",
        transactionID: "33000020",
      }),
      leg("RS", {
        symbol: "XYZD",
        conid: "100002",
        isin: "US9999000029",
        listingExchange: "NASDAQ",
        description: description("XYZD, XYZ CORP, US9999000029"),
        quantity: "15",
        transactionID: "33000021",
      }),
    ),
    journal,
  );
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.conid,
      a.quantity,
      a.unitPrice,
      a.amount,
      a.name,
      a.groupKey,
    ]),
    [
      [
        K("33000020"),
        "TRANSFER_OUT",
        "XYZ",
        "XNAS",
        "100001",
        "150",
        null,
        null,
        "XYZ CORP",
        `ibkr:${ACCOUNT}:corporate-action:150000002`,
      ],
      [
        K("33000021"),
        "TRANSFER_IN",
        "XYZD",
        "XNAS",
        "100002",
        "15",
        "106.8",
        null,
        "XYZ CORP",
        `ibkr:${ACCOUNT}:corporate-action:150000002`,
      ],
    ],
  );
  assert.deepEqual(mapped.skipped, []);
});

// ---- ISIN changes and mergers -----------------------------------------------------------------

const MERGER = "ABC(US9999000102) CASH and STOCK MERGER (Acquisition) US9999000409 1 FOR 2 " +
  "AND USD 1.50";

Deno.test("a cash and stock merger: the old shares out, the new in with their cost, and the proceeds as a cash TRANSFER_IN leg", () => {
  const mapped = mapSectionsWith(
    actions(
      leg("TC", {
        ...ABC,
        listingExchange: "VALUE",
        description: `${MERGER} (ABC, ABC INC, US9999000102)`,
        quantity: "-200",
        proceeds: "300",
        amount: "-300",
        transactionID: "33000030",
      }),
      leg("TC", {
        symbol: "NEWC",
        conid: "100401",
        isin: "US9999000409",
        listingExchange: "NYSE",
        description: `${MERGER} (NEWC, NEWCO CORP, US9999000409)`,
        quantity: "100",
        transactionID: "33000031",
      }),
    ),
    holding(buy(ABC, "1", "200", "5", "-1")),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.quantity,
      a.unitPrice,
      a.amount,
      a.currency,
      a.groupKey,
    ]),
    [
      [
        K("33000030"),
        "TRANSFER_OUT",
        "ABC",
        "200",
        null,
        null,
        "USD",
        `ibkr:${ACCOUNT}:corporate-action:150000002`,
      ],
      [
        K("33000030:proceeds"),
        "TRANSFER_IN",
        null,
        null,
        null,
        "300",
        "USD",
        `ibkr:${ACCOUNT}:corporate-action:150000002`,
      ],
      [
        K("33000031"),
        "TRANSFER_IN",
        "NEWC",
        "100",
        "10.01",
        null,
        "USD",
        `ibkr:${ACCOUNT}:corporate-action:150000002`,
      ],
    ],
  );
  // Cash is internal to the account (no metadata: Wealthfolio's default), never a DEPOSIT.
  assert.equal(mapped.activities[1].metadata, null);
});

Deno.test("a merger into two securities shares the cost by IBKR's value of each (600 : 200 of a cost of 1000)", () => {
  const mapped = mapSectionsWith(
    actions(
      leg("TC", { ...ABC, quantity: "-100", value: "-800", transactionID: "33000040" }),
      leg("TC", {
        symbol: "BIG",
        conid: "100701",
        isin: "US9999000706",
        quantity: "20",
        value: "600",
        transactionID: "33000041",
      }),
      leg("TC", {
        symbol: "SMOL",
        conid: "100801",
        isin: "US9999000805",
        quantity: "50",
        value: "200",
        transactionID: "33000042",
      }),
    ),
    holding(buy(ABC, "1", "100", "10")),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.symbol, a.quantity, a.unitPrice]),
    [
      ["TRANSFER_OUT", "ABC", "100", null],
      ["TRANSFER_IN", "BIG", "20", "37.5"],
      ["TRANSFER_IN", "SMOL", "50", "5"],
    ],
  );
});

Deno.test("the cost that moves is FIFO: 150 of lots 100 at 10 and 100 at 20 cost 1000 + 50 × 20", () => {
  const mapped = mapSectionsWith(
    actions(
      leg("TC", { ...ABC, quantity: "-150", transactionID: "33000050" }),
      leg("TC", {
        symbol: "NEWC",
        conid: "100401",
        isin: "US9999000409",
        quantity: "100",
        transactionID: "33000051",
      }),
    ),
    holding(buy(ABC, "1", "100", "10"), buy(ABC, "2", "100", "20")),
  );
  assert.deepEqual(mapped.activities.map((a) => [a.symbol, a.unitPrice]), [
    ["ABC", null],
    ["NEWC", "20"],
  ]);
});

Deno.test("IBKR's own costBasis on the old leg is used when the row carries it", () => {
  const mapped = mapSections(actions(
    leg("IC", { ...ABC, quantity: "-10", costBasis: "-123.4", transactionID: "33000060" }),
    leg("IC", {
      symbol: "ABCN",
      conid: "100102",
      isin: "US9999000110",
      quantity: "10",
      transactionID: "33000061",
    }),
  ));
  assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.unitPrice]), [
    ["TRANSFER_OUT", null],
    ["TRANSFER_IN", "12.34"],
  ]);
});

Deno.test("an old leg the journal does not hold, listed only on VALUE, is skipped with the placeholder reason; the new leg comes in with an unknown cost", () => {
  const mapped = mapSections(actions(
    leg("IC", {
      ...ABC,
      symbol: "ABC.OLD",
      listingExchange: "VALUE",
      quantity: "-10",
      transactionID: "33000070",
    }),
    leg("IC", {
      symbol: "ABCN",
      conid: "100102",
      isin: "US9999000110",
      quantity: "10",
      transactionID: "33000071",
    }),
  ));
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("33000070"), "corporate-action-placeholder-venue:VALUE"],
  ]);
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.symbol, a.unitPrice]),
    [[K("33000071"), "TRANSFER_IN", "ABCN", null]],
  );
  assert.match(mapped.activities[0].notes ?? "", /cost basis unknown/);
});

Deno.test("a cost in another currency than the new leg is not carried (no rate was given for it)", () => {
  const mapped = mapSectionsWith(
    actions(
      leg("TC", { ...ABC, quantity: "-10", transactionID: "33000080" }),
      leg("TC", {
        symbol: "EUR1",
        conid: "100901",
        isin: "DE9999000901",
        listingExchange: "IBIS",
        currency: "EUR",
        quantity: "5",
        transactionID: "33000081",
      }),
    ),
    holding(buy(ABC, "1", "10", "10")),
  );
  assert.deepEqual(mapped.activities.map((a) => [a.symbol, a.currency, a.unitPrice]), [
    ["ABC", "USD", null],
    ["EUR1.DE", "EUR", null],
  ]);
});

Deno.test("a liquidation for cash: the shares go out and the proceeds come in", () => {
  const mapped = mapSectionsWith(
    actions(leg("TC", {
      ...ABC,
      listingExchange: "VALUE",
      description: "ABC(US9999000102) MERGED(Liquidation) FOR USD 1.1047 PER SHARE (ABC, …)",
      quantity: "-367",
      proceeds: "405.4249",
      transactionID: "33000090",
    })),
    holding(buy(ABC, "1", "367", "2")),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.symbol, a.quantity, a.amount]),
    [
      [K("33000090"), "TRANSFER_OUT", "ABC", "367", null],
      [K("33000090:proceeds"), "TRANSFER_IN", null, null, "405.4249"],
    ],
  );
});

// ---- shares received, written off --------------------------------------------------------------

Deno.test("a spin-off, a stock dividend and a choice dividend come in at zero cost", () => {
  const mapped = mapSections(actions(
    leg("SO", {
      symbol: "SLVM",
      conid: "512958006",
      isin: "US8713321029",
      description: "GE(US3696041033) SPINOFF  1 FOR 11 (SLVM, SYLVAMO CORP, US8713321029)",
      quantity: "29.0909",
      transactionID: "33000100",
      actionID: "150000100",
    }),
    leg("SD", {
      symbol: "VUG",
      conid: "83512168",
      isin: "US9229087369",
      description: "VUG (US9229087369) Stock Dividend US9229087369 196232339 for 10000000000 " +
        "(VUG, VANGUARD GROWTH ETF, US9229087369)",
      quantity: "5.887",
      value: "151.47251",
      transactionID: "33000101",
      actionID: "150000101",
    }),
    leg("HI", {
      symbol: "TEF",
      conid: "12702",
      isin: "US8793822086",
      listingExchange: "NYSE",
      description: "TEF (US8793822086) STOCK DIVIDEND US8793822086 5 FOR 100 " +
        "(TEF, TELEFONICA SA-SPON ADR, US8793822086)",
      quantity: "15",
      value: "70.5",
      transactionID: "33000102",
      actionID: "150000102",
    }),
  ));
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.symbol, a.quantity, a.unitPrice, a.name]),
    [
      ["TRANSFER_IN", "SLVM", "29.0909", "0", "SYLVAMO CORP"],
      ["TRANSFER_IN", "VUG", "5.887", "0", "VANGUARD GROWTH ETF"],
      ["TRANSFER_IN", "TEF", "15", "0", "TELEFONICA SA-SPON ADR"],
    ],
  );
});

Deno.test("a position delisted worthless goes out with no cash", () => {
  const mapped = mapSectionsWith(
    actions(leg("DW", {
      ...ABC,
      listingExchange: "VALUE",
      description: "(US9999000102) DELISTED (ABC, ABC INC, US9999000102)",
      quantity: "-40",
      fifoPnlRealized: "-1000",
      transactionID: "33000110",
    })),
    holding(buy(ABC, "1", "40", "25")),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.symbol, a.quantity, a.amount]),
    [[K("33000110"), "TRANSFER_OUT", "ABC", "40", null]],
  );
});

Deno.test("a receipt with a negative leg, or a write-off with a positive one, is left for review", () => {
  const mapped = mapSections(actions(
    leg("SO", { quantity: "-3", transactionID: "33000120", actionID: "1" }),
    leg("DW", { quantity: "3", transactionID: "33000121", actionID: "2" }),
  ));
  assert.deepEqual(mapped.skipped.map((s) => s.reason), [
    "needs-review:corporate-action:SO",
    "needs-review:corporate-action:DW",
  ]);
});

// ---- cancels, unknown types, other instruments -------------------------------------------------

Deno.test("a cancelled leg (code Ca) undoes the booking it mirrors: same conid, day, type, opposite quantity", () => {
  const sd = {
    symbol: "SPL",
    conid: "100301",
    isin: "US9999000300",
    description: "SPL (US9999000300) STOCK DIVIDEND US9999000300 1 FOR 60 (SPL, SPLIT CO, …)",
    dateTime: "20250701;202000",
  };
  const mapped = mapSections(actions(
    leg("SD", { ...sd, quantity: "2", transactionID: "33000130" }),
    leg("SD", { ...sd, quantity: "-2", code: "Ca", transactionID: "33000131" }),
  ));
  const [original] = mapped.activities;
  assert.equal(original.key, K("33000130"));
  const cancel = mapped.outcomes.find((o) => o.kind === "skipped")!;
  assert.equal(cancel.kind === "skipped" && cancel.skipped.reason, "cancellation:corporate-action");
  assert.deepEqual(cancel.cancels, {
    mode: "reverse",
    targetKey: null,
    targetMatch: original.matchKey,
    reason: "corporate-action-cancel",
  });
  assert.equal(original.matchKey, "corporate-action:100301:2025-07-01:SD:2");
});

Deno.test("a stock-dividend reversal (- REVERSAL, negative) cancels the dividend instead of being a receipt", () => {
  const mapped = mapSections(actions(
    leg("SD", {
      conid: "12702",
      symbol: "TEF",
      description: "TEF (US8793822086) STOCK DIVIDEND US8793822086 1 FOR 20 - REVERSAL (TEF, …)",
      quantity: "-3",
      transactionID: "33000140",
    }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.equal(mapped.skipped[0].reason, "cancellation:corporate-action");
  assert.equal(
    mapped.outcomes[0].cancels?.targetMatch,
    "corporate-action:12702:2025-03-10:SD:3",
  );
});

Deno.test("types still not handled (choice dividend delivery HD, rights, none) are skipped for review, every leg", () => {
  const mapped = mapSections(actions(
    leg("HD", { quantity: "-99", transactionID: "33000150" }),
    leg("HD", { symbol: "ABC.CH", conid: "531416600", quantity: "99", transactionID: "33000151" }),
    leg("RI", { quantity: "10", transactionID: "33000152", actionID: "3" }),
    corporateAction({ type: undefined, transactionID: "33000153", actionID: "4" }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("33000150"), "needs-review:corporate-action:HD"],
    [K("33000151"), "needs-review:corporate-action:HD"],
    [K("33000152"), "needs-review:corporate-action:RI"],
    [K("33000153"), "needs-review:corporate-action:none"],
  ]);
  assert.equal(mapped.skipped[1].summary.symbol, "ABC.CH");
  assert.equal(mapped.skipped[1].summary.quantity, "99");
});

// ---- tenders -----------------------------------------------------------------------------------

/** CORT tendered into its temporary odd-lot line, then paid out (shapes of jal ibkr.xml). */
const CORT = { symbol: "CORT", conid: "28565190", isin: "US2183521028", listingExchange: "NASDAQ" };
const CORT_TENDER = "CORT(US2183521028) TENDERED TO US218NSPODD6 1 FOR 1";
const CORT_LINE = {
  symbol: "CORT.OD2",
  conid: "531416663",
  isin: "US218NSPODD6",
  listingExchange: "CORPACT",
};

Deno.test("a tender for cash is a SELL of the shares at proceeds ÷ quantity, fee 0; its cash is IBKR's proceeds", () => {
  const mapped = mapSectionsWith(
    actions(leg("TO", {
      ...ABC,
      description:
        "ABC(US9999000102) TENDERED FOR USD 20.75 PER SHARE (ABC, ABC INC, US9999000102)",
      quantity: "-40",
      proceeds: "830",
      amount: "-830",
      transactionID: "33000155",
    })),
    holding(buy(ABC, "1", "40", "12")),
  );
  assert.deepEqual(mapped.skipped, []);
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.quantity,
      a.unitPrice,
      a.amount,
      a.fee,
      a.currency,
    ]),
    [[K("33000155"), "SELL", "ABC", "40", "20.75", "830", "0", "USD"]],
  );
});

Deno.test("a cash tender whose price does not terminate (100 for 3 shares) keeps 20 significant digits, and its cash stays within a cent of the proceeds", () => {
  const mapped = mapSections(actions(leg("TO", {
    ...ABC,
    quantity: "-3",
    proceeds: "100",
    transactionID: "33000156",
  })));
  const [sell] = mapped.activities;
  assert.equal(sell.unitPrice, "33.333333333333333333");
  const cash = new Decimal(sell.quantity!).times(sell.unitPrice!);
  assert.ok(cash.minus(100).abs().lt("0.000000000001"), cash.toFixed());
});

Deno.test("a tender of shares for shares is an exchange; the temporary CORPACT line holds the tendered shares, so the later cash payout finds them", () => {
  const bought = mapTrades(buy(CORT, "1", "99", "15", "-1")).activities;
  const tender = mapSectionsWith(
    actions(
      leg("TO", {
        ...CORT,
        description: `${CORT_TENDER} (CORT, CORCEPT THERAPEUTICS INC, US2183521028)`,
        quantity: "-99",
        transactionID: "33000157",
      }),
      leg("TO", {
        ...CORT_LINE,
        description: `${CORT_TENDER} (CORT.OD2, CORCEPT THERAPEUTICS INC - TENDER ODD LOT, …)`,
        quantity: "99",
        transactionID: "33000158",
      }),
    ),
    costBasisOf(bought),
  );
  assert.deepEqual(tender.skipped, []);
  assert.deepEqual(
    tender.activities.map((a) => [a.activityType, a.symbol, a.conid, a.quantity, a.unitPrice]),
    [
      ["TRANSFER_OUT", "CORT", "28565190", "99", null],
      // (99 × 15 + 1) / 99: the cost moves to the tender line with the shares.
      ["TRANSFER_IN", "CORT", "531416663", "99", "15.010101010101010101"],
    ],
  );

  const payout = mapSectionsWith(
    actions(leg("TC", {
      ...CORT_LINE,
      description: "CORT.OD2(US218NSPODD6) MERGED(Voluntary Offer Allocation) FOR USD 20.75 " +
        "PER SHARE (CORT.OD2, CORCEPT THERAPEUTICS INC - TENDER ODD LOT, US218NSPODD6)",
      reportDate: "20250323",
      dateTime: "20250320;202500",
      quantity: "-99",
      proceeds: "2054.25",
      transactionID: "33000159",
      actionID: "150000009",
    })),
    costBasisOf([...bought, ...tender.activities]),
  );
  assert.deepEqual(payout.skipped, []);
  assert.deepEqual(payout.activities.map((a) => [a.activityType, a.symbol, a.quantity, a.amount]), [
    ["TRANSFER_OUT", "CORT", "99", null],
    ["TRANSFER_IN", null, null, "2054.25"],
  ]);
});

Deno.test("a tender line is only booked as the tendered security when one security was tendered: alone, it waits for review", () => {
  const mapped = mapSections(actions(leg("TO", {
    ...CORT_LINE,
    description: `${CORT_TENDER} (CORT.OD2, CORCEPT THERAPEUTICS INC - TENDER ODD LOT, …)`,
    quantity: "99",
    transactionID: "33000160",
  })));
  assert.deepEqual(mapped.skipped.map((s) => s.reason), [
    "needs-review:corporate-action:TO:not-a-disposal",
  ]);
});

Deno.test("an action on warrants or futures is not booked as shares: those legs say why, as their trades would, the others wait for review", () => {
  const mapped = mapSections(actions(
    leg("IC", { assetCategory: "WAR", quantity: "-20", transactionID: "33000160" }),
    leg("IC", { assetCategory: "STK", quantity: "20", transactionID: "33000161" }),
    leg("TC", { assetCategory: "FUT", quantity: "-1", transactionID: "33000162", actionID: "7" }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.deepEqual(mapped.skipped.map((s) => s.reason), [
    "not-yet-mapped:asset-category:WAR",
    "needs-review:corporate-action:IC",
    "unsupported-instrument:FUT",
  ]);
});

// ---- bonds and options -------------------------------------------------------------------------

/** 2000 face of X 6 1/4 03/15/26 bought at 63.709 % of par with 2 commission (jal ibkr.xml). */
const X_BOND = {
  assetCategory: "BOND",
  symbol: "X 6 1/4 03/15/26",
  conid: "310454529",
  isin: "US912909AN84",
  cusip: "912909AN8",
  listingExchange: "",
};

/** A long put, 2 contracts of VLO 24JUL20 64 P at 2.27 per share (multiplier 100). */
const VLO_PUT = {
  assetCategory: "OPT",
  symbol: "VLO   200724P00064000",
  conid: "425428592",
  isin: "",
  listingExchange: "CBOE",
  multiplier: "100",
};

Deno.test("an ISIN change of a bond moves it as its trade booked it: the face value out under the old ISIN, in under the new one as a BOND, at its cost per unit of face", () => {
  const journal = holding(
    trade({
      ...X_BOND,
      description: "X 6 1/4 03/15/26",
      transactionID: "1",
      tradeID: "91",
      quantity: "2000",
      tradePrice: "63.709",
      tradeMoney: "1274.18",
      proceeds: "-1274.18",
      ibCommission: "-2",
      tradeDate: "20250110",
      dateTime: "20250110;100000",
    }),
  );
  const bought = mapTrades(trade({
    ...X_BOND,
    transactionID: "1",
    quantity: "2000",
    tradePrice: "63.709",
    tradeMoney: "1274.18",
  })).activities[0];
  const mapped = mapSectionsWith(
    actions(
      leg("IC", { ...X_BOND, quantity: "-2000", transactionID: "33000180" }),
      leg("IC", {
        ...X_BOND,
        symbol: "X 6 1/4 03/15/26 - NEW",
        conid: "511991171",
        isin: "US912CALAN84",
        cusip: "912CALAN8",
        quantity: "2000",
        transactionID: "33000181",
      }),
    ),
    journal,
  );
  assert.deepEqual(mapped.skipped, []);
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.instrumentType,
      a.quantity,
      a.unitPrice,
    ]),
    [
      ["TRANSFER_OUT", "US912909AN84", null, "BOND", "2000", null],
      // (1274.18 + 2) / 2000 per unit of face: what the bond cost, carried whole.
      ["TRANSFER_IN", "US912CALAN84", null, "BOND", "2000", "0.63809"],
    ],
  );
  // The old leg lands on the asset the trade created, never on an equity of the same name.
  assert.deepEqual(
    [mapped.activities[0].symbol, mapped.activities[0].instrumentType],
    [bought.symbol, bought.instrumentType],
  );
});

/** 8000 face of F 8 1/2 04/21/23 called at 110.306815 % (jal ibkr.xml). */
const F_BOND = {
  assetCategory: "BOND",
  symbol: "F 8 1/2 04/21/23",
  conid: "417985207",
  isin: "US345370CV02",
  cusip: "345370CV0",
  listingExchange: "",
};

function redemption(over: Attributes): string {
  return leg("BM", {
    ...F_BOND,
    description: "(US345370CV02) FULL CALL / EARLY REDEMPTION FOR USD 1.10306815 PER BOND " +
      "(F 8 1/2 04/21/23, F 8 1/2 04/21/23, US345370CV02)",
    quantity: "-8000",
    proceeds: "8824.5452",
    amount: "-8824.5452",
    transactionID: "33000190",
    ...over,
  });
}

Deno.test("a bond redeemed (BM) is a SELL of its face value at the proceeds per unit of face: 8000 × 1.10306815 = 8824.5452, fee 0", () => {
  const bought = mapTrades(trade({
    ...F_BOND,
    description: "F 8 1/2 04/21/23",
    transactionID: "1",
    tradeID: "91",
    quantity: "8000",
    tradePrice: "112.25",
    tradeMoney: "8980",
    proceeds: "-8980",
    ibCommission: "-2",
    tradeDate: "20250110",
    dateTime: "20250110;100000",
  })).activities;
  const mapped = mapSectionsWith(actions(redemption({})), costBasisOf(bought));
  assert.deepEqual(mapped.skipped, []);
  const [sell] = mapped.activities;
  assert.deepEqual(
    [
      sell.key,
      sell.activityType,
      sell.symbol,
      sell.instrumentType,
      sell.quantity,
      sell.unitPrice,
      sell.amount,
      sell.fee,
      sell.currency,
    ],
    [K("33000190"), "SELL", "US345370CV02", "BOND", "8000", "1.10306815", "8824.5452", "0", "USD"],
  );
  // The same asset the purchase created, so Wealthfolio closes that position.
  assert.deepEqual([sell.symbol, sell.instrumentType], [
    bought[0].symbol,
    bought[0].instrumentType,
  ]);

  // A bill maturing (TM) is the same, in GBX converted to GBP like any pence row.
  const bill = mapSections(actions(leg("TM", {
    ...F_BOND,
    assetCategory: "BILL",
    currency: "GBX",
    quantity: "-5000",
    proceeds: "500000",
    transactionID: "33000191",
    actionID: "10",
  })));
  assert.deepEqual(
    bill.activities.map((a) => [a.activityType, a.quantity, a.unitPrice, a.currency]),
    [
      ["SELL", "5000", "1", "GBP"],
    ],
  );
});

Deno.test("a redemption or cash tender missing what it needs waits for review, saying what is missing", () => {
  const mapped = mapSections(actions(
    redemption({ proceeds: undefined, transactionID: "33000192", actionID: "11" }),
    redemption({ proceeds: "0", transactionID: "33000193", actionID: "12" }),
    redemption({ quantity: "8000", transactionID: "33000194", actionID: "13" }),
    redemption({ quantity: undefined, transactionID: "33000195", actionID: "14" }),
    // Tendered, but the cash comes (if at all) in another row: nothing to sell at.
    leg("TO", { ...X_BOND, quantity: "-2000", transactionID: "33000196", actionID: "15" }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("33000192"), "needs-review:corporate-action:BM:missing-proceeds"],
    [K("33000193"), "needs-review:corporate-action:BM:no-proceeds"],
    [K("33000194"), "needs-review:corporate-action:BM:not-a-disposal"],
    [K("33000195"), "missing-field:quantity"],
    [K("33000196"), "needs-review:corporate-action:TO:no-proceeds"],
  ]);
});

Deno.test("an option adjusted by a split is never a Wealthfolio SPLIT: the old contracts go out, the adjusted ones come in as an OPTION with their cost", () => {
  const journal = holding(trade({
    ...VLO_PUT,
    description: "VLO 24JUL20 64.0 P",
    transactionID: "1",
    tradeID: "91",
    quantity: "2",
    tradePrice: "2.27",
    tradeMoney: "454",
    proceeds: "-454",
    ibCommission: "-1.3",
    tradeDate: "20250110",
    dateTime: "20250110;100000",
  }));
  const mapped = mapSectionsWith(
    actions(
      leg("FS", {
        ...VLO_PUT,
        description: "VLO(US91913Y1001) SPLIT 2 FOR 1 (VLO 24JUL20 64.0 P, …)",
        quantity: "-2",
        transactionID: "33000200",
      }),
      leg("FS", {
        ...VLO_PUT,
        symbol: "VLO   200724P00032000",
        conid: "425428999",
        description: "VLO(US91913Y1001) SPLIT 2 FOR 1 (VLO 24JUL20 32.0 P, …)",
        quantity: "4",
        transactionID: "33000201",
      }),
    ),
    journal,
  );
  assert.deepEqual(mapped.skipped, []);
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.instrumentType,
      a.quantity,
      a.unitPrice,
      a.amount,
    ]),
    [
      ["TRANSFER_OUT", "VLO200724P00064000", "XCBO", "OPTION", "2", null, null],
      // (454 + 1.3) / 4 contracts: the cost per contract of the adjusted put.
      ["TRANSFER_IN", "VLO200724P00032000", "XCBO", "OPTION", "4", "113.825", null],
    ],
  );

  // One row adding contracts to the same option: neither a SPLIT nor free contracts.
  const lone = mapSections(actions(leg("FS", {
    ...VLO_PUT,
    description: "VLO(US91913Y1001) SPLIT 2 FOR 1 (VLO 24JUL20 64.0 P, …)",
    quantity: "2",
    transactionID: "33000202",
  })));
  assert.deepEqual(lone.activities, []);
  assert.deepEqual(lone.skipped.map((s) => s.reason), ["needs-review:corporate-action:FS"]);
});

Deno.test("an option leg whose symbol is not OCC form is not booked as an equity", () => {
  const mapped = mapSections(actions(
    leg("IC", { ...VLO_PUT, symbol: "VLO1 JUL20 64 P", quantity: "2", transactionID: "33000210" }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.deepEqual(mapped.skipped.map((s) => s.reason), ["non-occ-option-symbol"]);
});

// ---- SUMMARY rows, keys, order -----------------------------------------------------------------

Deno.test("SUMMARY corporate-action rows repeat the DETAIL ones: ignored beside them, booked under composite keys when alone", () => {
  const summary = (over: Attributes = {}) =>
    corporateAction({
      levelOfDetail: "SUMMARY",
      transactionID: "",
      dateTime: "20250605",
      ...over,
    });
  const beside = mapSections(actions(corporateAction(), summary(), summary({ accountId: "-" })));
  assert.deepEqual(beside.activities.map((a) => a.key), [K("33000001")]);
  assert.deepEqual(beside.ignored, [
    "corporate-action-summary-beside-detail",
    "corporate-action-summary-duplicate",
  ]);

  const alone = mapSections(actions(summary()));
  assert.deepEqual(alone.activities.map((a) => [a.key, a.activityType]), [
    [K("corporate-action:2025-06-05:142000001:54.25"), "SPLIT"],
  ]);
});

Deno.test("actions are mapped after the statement's other rows, oldest first, each leg once", () => {
  const mapped = mapDocument(flexDocument([{
    sections: actions(
      corporateAction({ transactionID: "33000171", dateTime: "20250801;202500", actionID: "2" }),
      corporateAction({ transactionID: "33000170", dateTime: "20250301;202500", actionID: "1" }),
    ) + `<Trades>${trade({ transactionID: "31000001" })}</Trades>`,
  }]));
  assert.deepEqual(
    mapped.outcomes.map((o) =>
      o.kind === "activities" ? o.activities[0].key : `skipped ${o.skipped.key}`
    ),
    [K("31000001"), K("33000170"), K("33000171")],
  );
});
