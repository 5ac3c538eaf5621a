/**
 * The journal-backed cost-basis source (app/cost_basis.ts over journal/positions.ts) on a real
 * SQLite journal: which activities price a position, and which do not.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { Decimal } from "decimal.js";
import { type Activity, type ActivityType, MAPPING_VERSION } from "../../src/domain/activity.ts";
import { journalCostBasis } from "../../src/app/cost_basis.ts";
import { ActivityWriter } from "../../src/journal/activities.ts";
import { journalPath, openJournal } from "../../src/journal/db.ts";
import { insertStatement } from "../../src/journal/statements.ts";

async function withJournal(work: (db: DatabaseSync, w: ActivityWriter) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "broker-sync-positions-test-" });
  const db = openJournal(journalPath(dir), { create: true });
  try {
    const id = insertStatement(db, {
      sha256: "a".repeat(64),
      source: "file",
      origin: "s.xml",
      byteSize: 0,
      receivedAt: "2026-01-01T00:00:00Z",
    });
    work(db, new ActivityWriter(db, id, MAPPING_VERSION, "2026-01-01T00:00:00Z"));
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function security(
  id: string,
  activityType: ActivityType,
  day: string,
  quantity: string,
  over: Partial<Activity> = {},
): Activity {
  return {
    key: `ibkr:U1:${id}`,
    account: "U1",
    activityType,
    subtype: null,
    date: `${day}T15:00:00Z`,
    symbol: "XYZ",
    exchangeMic: "XNAS",
    instrumentType: "EQUITY",
    name: "XYZ CORP",
    isin: "US9999000011",
    conid: "100001",
    quantity: new Decimal(quantity),
    unitPrice: new Decimal(10),
    amount: null,
    fee: new Decimal(0),
    currency: "USD",
    notes: null,
    groupKey: null,
    sourceRecordId: `U1:${id}`,
    metadata: null,
    ...over,
  };
}

const QUERY = { account: "U1", conid: "100001", through: "2025-03-10", inclusive: true };

Deno.test("the position counts the account's pending and pushed activities of the conid up to the day, FIFO-priced", () =>
  withJournal((db, w) => {
    w.activity(security("1", "BUY", "2025-01-10", "10"));
    w.activity(security("2", "BUY", "2025-03-10", "5", { unitPrice: new Decimal(12) }));
    w.activity(security("3", "BUY", "2025-03-11", "100")); // after the day
    w.activity(security("4", "BUY", "2025-01-10", "100", { account: "U2", key: "ibkr:U2:4" }));
    w.activity(security("5", "BUY", "2025-01-10", "100", { conid: "999" }));
    db.prepare("UPDATE activities SET state = 'pushed' WHERE key = 'ibkr:U1:1'").run();
    const source = journalCostBasis(db);
    const held = source.position(QUERY)!;
    assert.equal(held.quantity.toFixed(), "15");
    assert.equal(held.costOf(new Decimal(15))?.toFixed(), "160");
    // Excluding the day itself (a transfer from another account leaves that day).
    assert.equal(source.position({ ...QUERY, inclusive: false })!.quantity.toFixed(), "10");
    assert.equal(source.position({ ...QUERY, conid: "404" }), null);
  }));

Deno.test("superseded and skipped rows, and the action's own earlier legs, do not price a position", () =>
  withJournal((db, w) => {
    w.activity(security("1", "BUY", "2025-01-10", "10"));
    w.activity(security("2", "BUY", "2025-01-11", "7"));
    db.prepare("UPDATE activities SET state = 'superseded' WHERE key = 'ibkr:U1:2'").run();
    w.activity(security("3", "TRANSFER_OUT", "2025-03-10", "10", { groupKey: "ibkr:U1:ca:1" }));
    w.skipped({
      key: "ibkr:U1:4",
      account: "U1",
      date: "2025-01-12",
      reason: "zero-quantity",
      summary: { symbol: "XYZ" },
    });
    const held = journalCostBasis(db).position({ ...QUERY, excludeGroup: "ibkr:U1:ca:1" })!;
    assert.equal(held.quantity.toFixed(), "10");
    assert.equal(journalCostBasis(db).position(QUERY)!.quantity.toFixed(), "0");
  }));

Deno.test("once read, the source follows what the document writes: a new activity counts, a key that became a skip does not", () =>
  withJournal((db, w) => {
    w.activity(security("1", "BUY", "2025-01-10", "10"));
    const source = journalCostBasis(db);
    source.prefetch([{ account: "U1", conid: "100001" }]);
    const later = security("2", "BUY", "2025-02-10", "5");
    w.activity(later);
    source.written(later);
    assert.equal(source.position(QUERY)!.quantity.toFixed(), "15");
    source.removed("ibkr:U1:1");
    assert.equal(source.position(QUERY)!.quantity.toFixed(), "5");
  }));
