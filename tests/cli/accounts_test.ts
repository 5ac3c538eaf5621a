/**
 * Several IBKR accounts in one Flex file, as a user runs it: the real CLI against the loopback
 * Wealthfolio stand-in, configured only by `IBKR_ACCOUNTS="U123=<wf-id>,U456=<wf-id>"`. Each
 * FlexStatement lands in its own account's Wealthfolio account, several statements of one
 * account land in the same one, and a masked account id is refused before anything is written.
 */
import assert from "node:assert/strict";
import type { PushReport } from "../../src/app/push.ts";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../standins/wealthfolio.ts";
import {
  exists,
  FIXTURE,
  journalFile,
  lines,
  parseJson,
  runCli,
  showRun,
  tempDataDir,
} from "./run_cli.ts";

const PASSWORD = "c0rrect-h0rse-accounts";
const GIA = "wf-account-gia-u1234567";
const ISA = "wf-account-isa-u7654321";

/** The fixture's one FlexStatement, as text. */
function statementOf(xml: string): string {
  const start = xml.indexOf("<FlexStatement ");
  const end = xml.indexOf("</FlexStatement>") + "</FlexStatement>".length;
  return xml.slice(start, end);
}

/**
 * One file with three statements: U1234567's (the fixture), the same activity in U7654321, and a
 * second statement of U1234567 with transactions of its own. `second` names the second account.
 */
async function threeStatements(second = "U7654321"): Promise<string> {
  const xml = await Deno.readTextFile(FIXTURE);
  const mine = statementOf(xml);
  const other = mine.replaceAll('"U1234567"', `"${second}"`);
  const again = mine.replaceAll('transactionID="3100000', 'transactionID="3700000')
    .replaceAll('transactionID="3200000', 'transactionID="3800000');
  const path = `${await tempDataDir("broker-sync-accounts-")}/three-statements.xml`;
  await Deno.writeTextFile(
    path,
    xml.replace(mine, `${mine}\n${other}\n${again}`).replace(/count="1"/, 'count="3"'),
  );
  return path;
}

async function withTwoAccounts(fn: (wf: WealthfolioStandIn) => Promise<void>): Promise<void> {
  const wf = await startWealthfolioStandIn({ password: PASSWORD, recalcLagMs: 0 });
  wf.addAccount({ id: GIA, name: "IBKR GIA", currency: "GBP", trackingMode: "TRANSACTIONS" });
  wf.addAccount({ id: ISA, name: "IBKR ISA", currency: "GBP", trackingMode: "TRANSACTIONS" });
  try {
    await fn(wf);
  } finally {
    await wf.close();
  }
}

/** Wealthfolio's activities of one account, by idempotency key. */
function keysIn(wf: WealthfolioStandIn, accountId: string): string[] {
  return wf.state.activities.filter((a) => a.accountId === accountId)
    .map((a) => a.idempotencyKey ?? "?").sort();
}

Deno.test("each FlexStatement goes to its account's Wealthfolio account (IBKR_ACCOUNTS); two statements of one account go to the same one", async () => {
  const file = await threeStatements();
  await withTwoAccounts(async (wf) => {
    const dataDir = await tempDataDir();
    const run = await runCli(["--json", "backfill", file], {
      dataDir,
      // Nothing else: IBKR_ACCOUNTS alone names the accounts the guard accepts and where they go.
      env: {
        WF_BASE_URL: wf.baseUrl,
        WF_PASSWORD: PASSWORD,
        IBKR_ACCOUNTS: `U1234567=${GIA}, U7654321=${ISA}`,
      },
    });
    assert.equal(run.code, 0, showRun(run));
    const push = parseJson<{ push: PushReport }>(run).push;
    assert.deepEqual(
      push.accounts.map((a) => [a.ibkrAccounts, a.wealthfolioAccount.id]).sort(),
      [[["U1234567"], GIA], [["U7654321"], ISA]],
    );

    const gia = keysIn(wf, GIA);
    const isa = keysIn(wf, ISA);
    // The fixture's 13 activities, twice in U1234567 (both statements), once in U7654321.
    assert.equal(gia.length, 26);
    assert.equal(isa.length, 13);
    assert.deepEqual(gia.filter((k) => !k.startsWith("ibkr:U1234567:")), []);
    assert.deepEqual(isa.filter((k) => !k.startsWith("ibkr:U7654321:")), []);
    assert.ok(gia.includes("ibkr:U1234567:31000002") && gia.includes("ibkr:U1234567:37000002"));
    assert.ok(isa.includes("ibkr:U7654321:31000002"));
    // Each account holds its own position, not the other's.
    const vuag = (id: string) =>
      wf.holdings(id).find((h) => h.holdingType === "security" && h.instrument.symbol === "VUAG")
        ?.quantity;
    assert.deepEqual([vuag(GIA), vuag(ISA)], [50, 25]);
  });
});

Deno.test("a statement of an account IBKR_ACCOUNTS does not name is refused (exit 4) before anything is journaled or pushed", async () => {
  const file = await threeStatements();
  await withTwoAccounts(async (wf) => {
    const dataDir = await tempDataDir();
    const run = await runCli(["backfill", file], {
      dataDir,
      env: { WF_BASE_URL: wf.baseUrl, WF_PASSWORD: PASSWORD, IBKR_ACCOUNTS: `U1234567=${GIA}` },
    });
    assert.equal(run.code, EXIT.ACCOUNT, showRun(run));
    const message = lines(run.stderr).at(-1) ?? "";
    assert.match(message, /^broker-sync: .*U7654321/);
    assert.equal(await exists(journalFile(dataDir)), false, "no journal written");
    assert.equal(wf.requests.length, 0, "Wealthfolio not contacted");
  });
});

Deno.test("a masked account id in any statement of the file is refused with a clear message (exit 4), nothing written", async () => {
  const file = await threeStatements("U***4321");
  await withTwoAccounts(async (wf) => {
    const dataDir = await tempDataDir();
    const run = await runCli(["backfill", file], {
      dataDir,
      env: {
        WF_BASE_URL: wf.baseUrl,
        WF_PASSWORD: PASSWORD,
        IBKR_ACCOUNTS: `U1234567=${GIA},U7654321=${ISA}`,
      },
    });
    assert.equal(run.code, EXIT.ACCOUNT, showRun(run));
    const message = lines(run.stderr).at(-1) ?? "";
    assert.match(message, /^broker-sync: .*U\*\*\*4321.*masked/);
    assert.equal(await exists(journalFile(dataDir)), false, "no journal written");
    assert.equal(wf.requests.length, 0, "Wealthfolio not contacted");
  });
});
