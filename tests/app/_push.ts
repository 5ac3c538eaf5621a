/**
 * Shared setup for the push tests: a real journal (statements backfilled by the real use case),
 * the loopback Wealthfolio stand-in, and the push use case pointed at it. Waits between retries
 * are recorded instead of slept.
 */
import { DatabaseSync } from "node:sqlite";
import { backfillFiles } from "../../src/app/backfill.ts";
import { push, type PushReport, type PushRequest } from "../../src/app/push.ts";
import { classify } from "../../src/cli/failure.ts";
import { journalPath } from "../../src/journal/db.ts";
import { REPO_ROOT } from "../cli/run_cli.ts";
import { createEquityAsset } from "../support/wealthfolio_seed.ts";
import {
  type Account,
  startWealthfolioStandIn,
  type TrackingMode,
  type WealthfolioStandIn,
  type WealthfolioStandInOptions,
} from "../standins/wealthfolio.ts";

export { FIXTURE } from "../cli/run_cli.ts";
export const CORRECTIONS = `${REPO_ROOT}/fixtures/corrections`;
export const PASSWORD = "wf-test-password-7";
export const K = (id: string) => `ibkr:U1234567:${id}`;

export interface PushSetup {
  readonly wf: WealthfolioStandIn;
  readonly account: Account;
  readonly dataDir: string;
  /** Backfills statement files into the journal (no push). */
  backfill(...files: string[]): void;
  /** Runs the push use case; `sleeps` records the waits it asked for. */
  push(overrides?: Partial<PushRequest>): Promise<PushReport>;
  readonly sleeps: number[];
  /** The journal, for assertions; closed by the caller. */
  db(): DatabaseSync;
}

/** Runs `fn` with a fresh data dir and stand-in (with one account), cleaned up afterwards. */
export async function withPush(
  o: { wf?: WealthfolioStandInOptions; trackingMode?: TrackingMode; dataDir?: string },
  fn: (s: PushSetup) => Promise<void>,
): Promise<void> {
  const wf = await startWealthfolioStandIn({ password: PASSWORD, recalcLagMs: 0, ...o.wf });
  const account = wf.addAccount({
    name: "IBKR GIA",
    currency: "GBP",
    trackingMode: o.trackingMode ?? "TRANSACTIONS",
  });
  const dataDir = o.dataDir ?? await Deno.makeTempDir({ prefix: "broker-sync-push-test-" });
  const sleeps: number[] = [];
  try {
    await fn({
      wf,
      account,
      dataDir,
      sleeps,
      backfill: (...files) => {
        backfillFiles({
          dataDir,
          paths: files,
          accounts: ["U1234567"],
          now: () => new Date(),
        });
      },
      push: (overrides = {}) =>
        push({
          dataDir,
          wealthfolio: {
            baseUrl: wf.baseUrl,
            password: PASSWORD,
            sessionPath: `${dataDir}/wealthfolio-session.json`,
            defaultAccountId: account.id,
          },
          accountMap: {},
          dryRun: false,
          retryFailed: false,
          now: () => new Date(),
          exitCodeOf: (e) => classify(e).code,
          client: {
            sleep: (ms) => {
              sleeps.push(ms);
              return Promise.resolve();
            },
          },
          ...overrides,
        }),
      db: () => new DatabaseSync(journalPath(dataDir)),
    });
  } finally {
    await wf.close();
    if (!o.dataDir) await Deno.remove(dataDir, { recursive: true });
  }
}

/** Wealthfolio's activities as a comparable list, by idempotency key. */
export function wfActivities(wf: WealthfolioStandIn) {
  const assets = new Map(wf.state.assets.map((a) => [a.id, a]));
  return wf.state.activities.map((a) => ({
    key: a.idempotencyKey,
    type: a.activityType,
    subtype: a.subtype,
    date: a.activityDate,
    asset: a.assetId ? assets.get(a.assetId)?.instrumentKey ?? "?" : null,
    quantity: a.quantity,
    unitPrice: a.unitPrice,
    amount: a.amount,
    fee: a.fee,
    currency: a.currency,
    notes: a.notes,
    sourceSystem: a.sourceSystem,
    sourceRecordId: a.sourceRecordId,
    sourceGroupId: a.sourceGroupId,
  })).sort((x, y) => (x.key ?? "").localeCompare(y.key ?? ""));
}

/** `state` of each journal activity, by key. */
export function journalStates(db: DatabaseSync): Record<string, string> {
  return Object.fromEntries(
    (db.prepare("SELECT key, state FROM activities ORDER BY key").all() as {
      key: string;
      state: string;
    }[]).map((r) => [r.key, r.state]),
  );
}

/** key → Wealthfolio id, as the journal recorded it. */
export function syncRecords(db: DatabaseSync): Record<string, string> {
  return Object.fromEntries(
    (db.prepare("SELECT key, wf_activity_id FROM sync_records ORDER BY key").all() as {
      key: string;
      wf_activity_id: string;
    }[]).map((r) => [r.key, r.wf_activity_id]),
  );
}

/** Requests the stand-in saw, as `METHOD /path` (without /api/v1). */
export function calls(wf: WealthfolioStandIn, from = 0): string[] {
  return wf.requests.slice(from).map((r) => `${r.method} ${r.path.replace("/api/v1", "")}`);
}

/** The sum of new activities of a report, by type. */
export function created(report: PushReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of report.accounts) {
    for (const [t, n] of Object.entries(a.new)) out[t] = (out[t] ?? 0) + n;
  }
  return out;
}

/** Creates an asset in the stand-in the way an operator (or Wealthfolio's UI) would. */
export function createAsset(
  wf: WealthfolioStandIn,
  asset: { symbol: string; mic: string; quoteCcy: string },
): Promise<string> {
  return createEquityAsset(wf.baseUrl, PASSWORD, asset);
}
