/** Transfers (contracts/ibkr-flex.md §2.7, §4.6) through the real reader and StatementMapper. */
import assert from "node:assert/strict";
import {
  ACCOUNT,
  type Attributes,
  costBasisOf,
  flexDocument,
  mapDocument,
  mapSections,
  mapSectionsWith,
  trade,
  transfer,
} from "./_rows.ts";

const K = (id: string) => `ibkr:${ACCOUNT}:${id}`;
const transfers = (...rows: string[]) => `<Transfers>${rows.join("")}</Transfers>`;

/** An INTERNAL cash transfer as jal's ibkr.xml has them (`symbol="--"`, `cashTransfer` signed). */
function cashTransfer(over: Attributes): string {
  return transfer({
    assetCategory: "CASH",
    symbol: "--",
    description: "TRANSFER FROM U7654321 TO U1234567",
    conid: "",
    isin: "",
    listingExchange: "",
    multiplier: "0",
    type: "INTERNAL",
    account: "U7654321",
    deliveringBroker: "",
    quantity: "0",
    positionAmount: "0",
    ...over,
  });
}

Deno.test("INTERNAL cash transfers are cash TRANSFER_IN / TRANSFER_OUT of |cashTransfer|, internal, without a symbol", () => {
  const mapped = mapSections(transfers(
    cashTransfer({ direction: "IN", cashTransfer: "150", transactionID: "34000010" }),
    cashTransfer({
      direction: "OUT",
      cashTransfer: "-12345",
      description: "TRANSFER FROM U1234567 TO U7654321",
      transactionID: "34000011",
    }),
  ));
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.quantity,
      a.amount,
      a.currency,
      a.metadata,
      a.date,
    ]),
    [
      [K("34000010"), "TRANSFER_IN", null, null, "150", "USD", null, "2025-03-03T15:15:00Z"],
      [K("34000011"), "TRANSFER_OUT", null, null, "12345", "USD", null, "2025-03-03T15:15:00Z"],
    ],
  );
  assert.match(mapped.activities[0].notes ?? "", /INTERNAL transfer from U7654321/);
});

Deno.test("cash from another broker (ACATS) is marked external, so Wealthfolio counts it as a contribution", () => {
  const mapped = mapSections(transfers(
    cashTransfer({
      type: "ACATS",
      direction: "IN",
      cashTransfer: "2500.5",
      account: "",
      deliveringBroker: "OTHER BROKER LLC",
      transactionID: "34000020",
    }),
  ));
  assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.amount, a.metadata]), [
    ["TRANSFER_IN", "2500.5", { flow: { is_external: true } }],
  ]);
});

Deno.test("securities brought in by ACATS, ATON, FOP (and IBKR's ACAT spelling) are external TRANSFER_IN of the quantity, cost unknown", () => {
  const mapped = mapSections(transfers(
    transfer({ transactionID: "34000030" }),
    transfer({ type: "ACAT", transactionID: "34000031" }),
    transfer({ type: "ATON", transactionID: "34000032" }),
    transfer({ type: "FOP", direction: "OUT", quantity: "-4", transactionID: "34000033" }),
  ));
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.quantity,
      a.unitPrice,
      a.amount,
      a.metadata,
    ]),
    [
      [
        K("34000030"),
        "TRANSFER_IN",
        "AAPL",
        "XNAS",
        "10",
        null,
        null,
        { flow: { is_external: true } },
      ],
      [
        K("34000031"),
        "TRANSFER_IN",
        "AAPL",
        "XNAS",
        "10",
        null,
        null,
        { flow: { is_external: true } },
      ],
      [
        K("34000032"),
        "TRANSFER_IN",
        "AAPL",
        "XNAS",
        "10",
        null,
        null,
        { flow: { is_external: true } },
      ],
      [
        K("34000033"),
        "TRANSFER_OUT",
        "AAPL",
        "XNAS",
        "4",
        null,
        null,
        { flow: { is_external: true } },
      ],
    ],
  );
  // positionAmount is the market value, not a cost: it is never sent as one.
  assert.match(mapped.activities[0].notes ?? "", /cost basis unknown/);
});

Deno.test("shares moved in from the user's other IBKR account carry that account's FIFO cost when the journal holds it", () => {
  // U7654321 bought 10 at 200 (fee 1) and 10 at 220 before the transfer's day.
  const other = mapDocument(flexDocument([{
    accountId: "U7654321",
    sections: `<Trades>${
      trade({
        accountId: "U7654321",
        transactionID: "1",
        quantity: "10",
        tradePrice: "200",
        ibCommission: "-1",
      })
    }${
      trade({
        accountId: "U7654321",
        transactionID: "2",
        quantity: "10",
        tradePrice: "220",
        ibCommission: "0",
        tradeDate: "20250120",
        dateTime: "20250120;100000",
      })
    }</Trades>`,
  }]));
  const mapped = mapSectionsWith(
    transfers(transfer({
      type: "INTERNAL",
      account: "U7654321",
      quantity: "15",
      transactionID: "34000040",
    })),
    costBasisOf(other.activities),
  );
  // FIFO: 10 × 200 + 1, then 5 × 220 → 3101 / 15.
  assert.deepEqual(mapped.activities.map((a) => [a.quantity, a.unitPrice, a.metadata]), [
    ["15", "206.73333333333333333", null],
  ]);
});

Deno.test("a transfer out names the security as the journal booked it (by conid), not as the row spells it", () => {
  const held = mapDocument(flexDocument([{
    sections: `<Trades>${trade({ symbol: "BRK B", conid: "72063691", listingExchange: "NYSE" })}` +
      `</Trades>`,
  }]));
  const mapped = mapSectionsWith(
    transfers(transfer({
      type: "INTERNAL",
      direction: "OUT",
      account: "U7654321",
      symbol: "BRK.B",
      conid: "72063691",
      listingExchange: "",
      quantity: "-3",
      transactionID: "34000050",
    })),
    costBasisOf(held.activities),
  );
  assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.symbol, a.exchangeMic]), [
    ["TRANSFER_OUT", "BRK-B", "XNYS"],
  ]);
});

Deno.test("transfers that cannot be booked say why: unknown types, a sign against the direction, nothing moved, warrants, futures", () => {
  const mapped = mapSections(transfers(
    transfer({ type: "OTC", transactionID: "34000060" }),
    transfer({ type: "INTERCOMPANY", transactionID: "34000061" }),
    cashTransfer({ direction: "IN", cashTransfer: "-5", transactionID: "34000062" }),
    cashTransfer({ direction: "OUT", cashTransfer: "0", transactionID: "34000063" }),
    transfer({ quantity: "0", transactionID: "34000064" }),
    transfer({ assetCategory: "WAR", transactionID: "34000065" }),
    transfer({ direction: undefined, transactionID: "34000066" }),
    transfer({ direction: "SIDEWAYS", transactionID: "34000067" }),
    transfer({ assetCategory: "FUT", symbol: "ESH5", transactionID: "34000068" }),
  ));
  assert.deepEqual(mapped.activities, []);
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason, s.date]), [
    [K("34000060"), "needs-review:transfer:OTC", "2025-03-03"],
    [K("34000061"), "needs-review:transfer:INTERCOMPANY", "2025-03-03"],
    [K("34000062"), "unexpected-sign:negative:transfer-IN", "2025-03-03"],
    [K("34000063"), "zero-amount", "2025-03-03"],
    [K("34000064"), "zero-quantity", "2025-03-03"],
    [K("34000065"), "not-yet-mapped:asset-category:WAR", "2025-03-03"],
    [K("34000066"), "missing-field:direction", "2025-03-03"],
    [K("34000067"), "needs-review:transfer:direction:SIDEWAYS", "2025-03-03"],
    [K("34000068"), "unsupported-instrument:FUT", "2025-03-03"],
  ]);
  assert.equal(mapped.skipped[2].summary.cashTransfer, "-5");
});

Deno.test("options and bonds move as their trades book them: contracts under the OCC symbol as OPTION, face value under the ISIN as BOND", () => {
  const mapped = mapSections(transfers(
    transfer({
      assetCategory: "OPT",
      symbol: "VLO   200724P00064000",
      description: "VLO 24JUL20 64.0 P",
      conid: "425428592",
      isin: "",
      listingExchange: "CBOE",
      multiplier: "100",
      quantity: "2",
      transactionID: "34000070",
    }),
    transfer({
      assetCategory: "BOND",
      symbol: "X 6 1/4 03/15/26",
      description: "X 6 1/4 03/15/26",
      conid: "310454529",
      isin: "US912909AN84",
      cusip: "912909AN8",
      listingExchange: "",
      quantity: "2000",
      transactionID: "34000071",
    }),
    transfer({
      assetCategory: "OPT",
      symbol: "VLO1 JUL20 64 P",
      conid: "425428593",
      isin: "",
      listingExchange: "CBOE",
      transactionID: "34000072",
    }),
  ));
  assert.deepEqual(
    mapped.activities.map((a) => [
      a.key,
      a.activityType,
      a.symbol,
      a.exchangeMic,
      a.instrumentType,
      a.quantity,
    ]),
    [
      [K("34000070"), "TRANSFER_IN", "VLO200724P00064000", "XCBO", "OPTION", "2"],
      [K("34000071"), "TRANSFER_IN", "US912909AN84", null, "BOND", "2000"],
    ],
  );
  // Wealthfolio would take a non-OCC option symbol for an equity: not booked.
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("34000072"), "non-occ-option-symbol"],
  ]);
});

Deno.test("a bond moved in from the user's other IBKR account keeps the asset type and the cost per unit of face of its trade", () => {
  const other = mapDocument(flexDocument([{
    accountId: "U7654321",
    sections: `<Trades>${
      trade({
        accountId: "U7654321",
        assetCategory: "BOND",
        symbol: "X 6 1/4 03/15/26",
        conid: "310454529",
        isin: "US912909AN84",
        listingExchange: "",
        transactionID: "1",
        quantity: "2000",
        tradePrice: "63.709",
        tradeMoney: "1274.18",
        proceeds: "-1274.18",
        ibCommission: "-2",
      })
    }</Trades>`,
  }]));
  const mapped = mapSectionsWith(
    transfers(transfer({
      type: "INTERNAL",
      account: "U7654321",
      assetCategory: "BOND",
      symbol: "X 6 1/4 03/15/26",
      conid: "310454529",
      isin: "US912909AN84",
      listingExchange: "",
      quantity: "1000",
      transactionID: "34000080",
    })),
    costBasisOf(other.activities),
  );
  // Half the face: (1274.18 + 2) / 2000 per unit.
  assert.deepEqual(
    mapped.activities.map((a) => [a.symbol, a.instrumentType, a.quantity, a.unitPrice]),
    [["US912909AN84", "BOND", "1000", "0.63809"]],
  );
});

Deno.test("a transfer without transactionID gets a composite key from its own facts", () => {
  const mapped = mapSections(transfers(transfer({ transactionID: "" })));
  assert.deepEqual(mapped.activities.map((a) => a.key), [
    K("transfer:2025-03-03:265598:10"),
  ]);
});
