/**
 * `import` (and the push step of `backfill`): the journal's pending activities into Wealthfolio,
 * so that re-runs, crashes, a lost journal and server faults never duplicate or lose one.
 *
 * Why it converges: every activity goes out with its idempotency key, which Wealthfolio stores
 * and refuses twice (wealthfolio-api.md §4.8), and the journal records an outcome only after
 * Wealthfolio answered. So the order is, per run:
 *
 * 1. Corrections: deletes owed for undone activities Wealthfolio holds (and any superseded row
 *    it turns out to hold, e.g. after the journal was rebuilt), each checked by key first.
 * 2. Per Wealthfolio account, `check-duplicates` on the pending keys: those Wealthfolio holds are
 *    recorded as pushed with its ids (this is how a crashed run, or a lost journal, converges).
 * 3. The rest: assets resolved, then `activities/bulk` in chunks below the 2 MiB body limit, one
 *    account per call. A 200 with `errors[]` wrote nothing: the rows named are `failed` with
 *    Wealthfolio's message and the others are sent again. A "Duplicate activity" 400 means
 *    Wealthfolio has some already: check again, record them, send the rest. 5xx and timeouts
 *    are retried with backoff (http.ts), then the run stops with everything else still pending.
 *
 * Each chunk's outcome is one journal transaction with the run id. A dry run does steps 1–2
 * read-only and reports what step 3 would send; it writes nothing anywhere.
 */
import type { DatabaseSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import type { ActivityPayload } from "../domain/payload.ts";
import {
  type PendingCorrection,
  pendingCorrections,
  recordCorrectionApplied,
} from "../journal/corrections.ts";
import { journalPath, openJournal, transaction } from "../journal/db.ts";
import { inLockedJournal, type RunLock } from "../journal/lock.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import { remapBeforePush, staleStatements } from "./remap.ts";
import {
  failedActivities,
  notPushed,
  pendingActivities,
  type PendingActivity,
  recordChunk,
  retryFailed,
  type UnverifiedSuperseded,
  unverifiedSuperseded,
} from "../journal/sync_records.ts";
import { instrumentOf } from "../journal/wf_assets.ts";
import { targetAccount } from "../wealthfolio/accounts.ts";
import { needsAsset, newActivity } from "../wealthfolio/activities.ts";
import { type ClientOptions, WealthfolioClient, type WfAccount } from "../wealthfolio/client.ts";
import {
  WealthfolioAccountError,
  WealthfolioAuthError,
  WealthfolioProtocolError,
  WealthfolioUnavailableError,
} from "../wealthfolio/errors.ts";
import { SessionFile } from "../wealthfolio/session.ts";
import { RowsRefusedError, UnmappedAccountError } from "./errors.ts";
import { type AssetPush, type AssetResolution, resolveAssets } from "./push_assets.ts";

/** What Wealthfolio stores as each activity's `sourceSystem`. */
export const SOURCE_SYSTEM = "IBKR_FLEX";

/** Bulk bodies stay at or below this many bytes: Axum's default limit is 2 MiB (§3). */
export const MAX_BODY_BYTES = 2_000_000;

/** Keys per `check-duplicates` call (~40 bytes each: far below the body limit). */
export const CHECK_KEYS = 5_000;

/** Where and how to reach Wealthfolio (the CLI's configuration has this shape). */
export interface WealthfolioTarget {
  readonly baseUrl: string;
  readonly password: string | null;
  readonly sessionPath: string;
  /** The Wealthfolio account of IBKR accounts not in the map (`IBKR_ACCOUNT_ID`). */
  readonly defaultAccountId: string | null;
}

export interface PushRequest {
  readonly dataDir: string;
  readonly wealthfolio: WealthfolioTarget;
  /** IBKR account → Wealthfolio account (`IBKR_ACCOUNTS`). */
  readonly accountMap: Readonly<Record<string, string>>;
  /** Report what would be done; write nothing to the journal, Wealthfolio or the session cache. */
  readonly dryRun: boolean;
  /** Send `failed` activities again (after fixing what Wealthfolio refused them for). */
  readonly retryFailed: boolean;
  /** At most this many activities per bulk call; by default as many as fit MAX_BODY_BYTES. */
  readonly batchSize?: number | null;
  readonly maxBodyBytes?: number;
  readonly now: () => Date;
  /** The exit code a run that stops with `error` records in the journal. */
  readonly exitCodeOf: (error: Error) => number;
  /** Told every credential, so output can redact it. */
  readonly onSecret?: (value: string) => void;
  /** Client tuning for tests: sleep, clock, timeout, retry policy. */
  readonly client?: Partial<Pick<ClientOptions, "sleep" | "now" | "timeoutMs" | "retry">>;
  /** The run lock when the caller holds it (`sync`); taken and released here otherwise. */
  readonly lock?: RunLock;
}

/** What happened (or, in a dry run, would happen) in one Wealthfolio account. */
export interface AccountPush {
  readonly ibkrAccounts: readonly string[];
  readonly wealthfolioAccount: {
    readonly id: string;
    readonly name: string;
    readonly trackingMode: string;
  };
  /** Activities new to Wealthfolio, by type: created (or, dry, to be created). */
  readonly new: Readonly<Record<string, number>>;
  /** Pending activities Wealthfolio already holds (by key): recorded as pushed. */
  readonly alreadyInWealthfolio: number;
  /** Activities refused by this run (dry: that would be, for want of an asset). */
  readonly failed: number;
  readonly assets: readonly AssetPush[];
}

/** A delete Wealthfolio is owed, and what came of it. */
export interface CorrectionPush {
  readonly action: "delete";
  readonly targetKey: string;
  readonly cancelKey: string;
  readonly reason: string;
  /** `deleted` / `already-gone`; in a dry run `will-delete` / `already-gone`. */
  readonly outcome: "deleted" | "already-gone" | "will-delete";
}

/** The push's report; `--json` prints it as is. */
export interface PushReport {
  readonly dryRun: boolean;
  /** The journal run of a real push that did something; null otherwise. */
  readonly runId: number | null;
  readonly journal: string;
  readonly wealthfolio: string;
  readonly accounts: readonly AccountPush[];
  readonly corrections: readonly CorrectionPush[];
  /** Journal rows never pushed, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly superseded: number;
  /** Rows `failed` in the journal after the run (before it, for a dry run), with Wealthfolio's message. */
  readonly failed: readonly { readonly key: string; readonly reason: string }[];
  /** Rows still `pending` in the journal after the run (a dry run changes nothing). */
  readonly pending: number;
  /** Set when a real run stopped early: everything not recorded is still pending. */
  readonly stopped: { readonly exitCode: number; readonly message: string } | null;
  /**
   * Statements mapped again first because an older mapping version mapped them (src/app/remap.ts);
   * in a plan, the statements that would be (the plan's activities do not include their effect).
   */
  readonly remapped: number;
}

const log = getLogger(["broker-sync", "push"]);

/** What there is to do. */
interface Work {
  readonly rows: readonly PendingActivity[];
  readonly corrections: readonly PendingCorrection[];
  readonly superseded: readonly UnverifiedSuperseded[];
}

/** Runs (or plans) the push. Throws, having written nothing, when setup fails. */
export async function push(request: PushRequest): Promise<PushReport> {
  const path = journalPath(request.dataDir);
  if (request.dryRun) {
    const db = openJournal(path, { create: false, readOnly: true });
    try {
      return { ...await plan(request, db, path), remapped: staleStatements(db).length };
    } finally {
      db.close();
    }
  }
  return await inLockedJournal(request.dataDir, request.lock, false, async (db) => {
    const remapped = remapBeforePush(db, request.now());
    return { ...await run(request, db, path), remapped };
  });
}

function collectWork(db: DatabaseSync, retry: boolean): Work {
  return {
    rows: pendingActivities(db, { includeFailed: retry }),
    corrections: pendingCorrections(db),
    superseded: unverifiedSuperseded(db),
  };
}

/**
 * The journal's work and the Wealthfolio accounts it goes to, verified; null when there is none.
 * Everything that can refuse a run is checked here, before the journal or Wealthfolio changes.
 * `persist`: whether the client may cache its session (never in a dry run).
 */
async function openWork(request: PushRequest, db: DatabaseSync, persist: boolean) {
  const work = collectWork(db, request.retryFailed);
  if (isEmpty(work)) return null;
  const targets = targetsOf(request, work);
  const client = clientFor(request, persist);
  return { work, targets, client, verified: await verifyTargets(request, client, targets) };
}

function isEmpty(w: Work): boolean {
  return w.rows.length === 0 && w.corrections.length === 0 && w.superseded.length === 0;
}

/** IBKR account → Wealthfolio account id, for every account with work; or UnmappedAccountError. */
function targetsOf(request: PushRequest, work: Work): Map<string, string> {
  const counts = new Map<string, number>();
  for (const a of [...work.rows, ...work.corrections, ...work.superseded]) {
    counts.set(a.account, (counts.get(a.account) ?? 0) + 1);
  }
  const targets = new Map<string, string>();
  for (const [ibkr, n] of counts) {
    const id = request.accountMap[ibkr] ?? request.wealthfolio.defaultAccountId;
    if (!id) throw new UnmappedAccountError(ibkr, n);
    targets.set(ibkr, id);
  }
  return targets;
}

function purposeOf(request: PushRequest, ibkr: string): string {
  return request.accountMap[ibkr]
    ? `IBKR_ACCOUNTS (for IBKR account ${ibkr})`
    : `IBKR_ACCOUNT_ID (for IBKR account ${ibkr})`;
}

function clientFor(request: PushRequest, persist: boolean): WealthfolioClient {
  return new WealthfolioClient({
    baseUrl: request.wealthfolio.baseUrl,
    password: request.wealthfolio.password,
    sessionFile: new SessionFile(request.wealthfolio.sessionPath, request.wealthfolio.baseUrl),
    persistSession: persist,
    onSecret: request.onSecret,
    ...request.client,
  });
}

/** Checks every target account before anything is written. */
async function verifyTargets(
  request: PushRequest,
  client: WealthfolioClient,
  targets: Map<string, string>,
): Promise<Map<string, WfAccount>> {
  const accounts = await client.accounts();
  const verified = new Map<string, WfAccount>();
  for (const [ibkr, id] of targets) {
    verified.set(id, targetAccount(accounts, id, purposeOf(request, ibkr), client.baseUrl));
  }
  return verified;
}

/** Rows grouped by Wealthfolio account, in journal order. */
function byAccount(
  rows: readonly PendingActivity[],
  targets: Map<string, string>,
): Map<string, { ibkr: Set<string>; rows: PendingActivity[] }> {
  const groups = new Map<string, { ibkr: Set<string>; rows: PendingActivity[] }>();
  for (const row of rows) {
    const id = targets.get(row.account)!;
    const g = groups.get(id) ?? { ibkr: new Set(), rows: [] };
    g.ibkr.add(row.account);
    g.rows.push(row);
    groups.set(id, g);
  }
  return groups;
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function countTypes(rows: readonly { payload: ActivityPayload }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.payload.activityType] = (out[r.payload.activityType] ?? 0) + 1;
  return out;
}

function summary(db: DatabaseSync) {
  const { skipped, superseded } = notPushed(db);
  const pending = db.prepare("SELECT COUNT(*) AS n FROM activities WHERE state = 'pending'")
    .get() as { n: number };
  return { skipped, superseded, failed: failedActivities(db), pending: Number(pending.n) };
}

/** Which of `keys` Wealthfolio holds, CHECK_KEYS at a time. */
async function heldKeys(client: WealthfolioClient, keys: readonly string[]) {
  const found = new Map<string, string>();
  for (const chunk of chunksOf(keys, CHECK_KEYS)) {
    for (const [k, id] of await client.checkDuplicates(chunk)) found.set(k, id);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Dry run

async function plan(
  request: PushRequest,
  db: DatabaseSync,
  path: string,
): Promise<Omit<PushReport, "remapped">> {
  const base = {
    dryRun: true,
    runId: null,
    journal: path,
    wealthfolio: request.wealthfolio.baseUrl,
    stopped: null,
  };
  const opened = await openWork(request, db, false);
  if (!opened) return { ...base, accounts: [], corrections: [], ...summary(db) };
  const { work, targets, client, verified } = opened;

  const correctionKeys = [
    ...new Set([...work.corrections.map((c) => c.targetKey), ...work.superseded.map((s) => s.key)]),
  ];
  const present = correctionKeys.length ? await heldKeys(client, correctionKeys) : new Map();
  const corrections: CorrectionPush[] = work.corrections.map((c) => ({
    action: "delete",
    targetKey: c.targetKey,
    cancelKey: c.cancelKey,
    reason: c.reason,
    outcome: present.has(c.targetKey) ? "will-delete" : "already-gone",
  }));
  const owed = new Set(work.corrections.map((c) => c.targetKey));
  for (const s of work.superseded) {
    if (!present.has(s.key) || owed.has(s.key)) continue;
    corrections.push({
      action: "delete",
      targetKey: s.key,
      cancelKey: s.cancelledBy ?? "",
      reason: FOUND_SUPERSEDED,
      outcome: "will-delete",
    });
  }

  const accounts: AccountPush[] = [];
  for (const [id, group] of byAccount(work.rows, targets)) {
    const found = await heldKeys(client, group.rows.map((r) => r.key));
    const rest = group.rows.filter((r) => !found.has(r.key));
    const assets = await resolveAssets(
      { db, client, create: false, now: () => request.now().toISOString() },
      rest.filter((r) => needsAsset(r.payload)).map((r) => r.payload),
    );
    const fails = new Set(rest.filter((r) => assetOf(assets, r.payload)?.ok === false));
    const account = verified.get(id)!;
    accounts.push({
      ibkrAccounts: [...group.ibkr],
      wealthfolioAccount: { id, name: account.name, trackingMode: account.trackingMode },
      new: countTypes(rest.filter((r) => !fails.has(r))),
      alreadyInWealthfolio: found.size,
      failed: fails.size,
      assets: [...assets.values()].map((a) => a.report),
    });
  }
  return { ...base, accounts, corrections, ...summary(db) };
}

const FOUND_SUPERSEDED = "superseded-but-in-wealthfolio";

function assetOf(
  assets: Map<string, AssetResolution>,
  p: ActivityPayload,
): AssetResolution | undefined {
  return needsAsset(p) ? assets.get(instrumentOf(p.symbol!, p.exchangeMic)) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The real push

/** One run's bookkeeping. */
class PushRun {
  #seq = 0;
  /** The largest body sent; lowered when Wealthfolio (or a proxy) answers 413. */
  bodyLimit: number;
  constructor(
    readonly db: DatabaseSync,
    readonly client: WealthfolioClient,
    readonly runId: number,
    readonly request: PushRequest,
  ) {
    this.bodyLimit = request.maxBodyBytes ?? MAX_BODY_BYTES;
  }

  now(): string {
    return this.request.now().toISOString();
  }

  nextSeq(): number {
    return ++this.#seq;
  }
}

async function run(
  request: PushRequest,
  db: DatabaseSync,
  path: string,
): Promise<Omit<PushReport, "remapped">> {
  const base = {
    dryRun: false,
    journal: path,
    wealthfolio: request.wealthfolio.baseUrl,
  };
  const opened = await openWork(request, db, true);
  if (!opened) {
    return { ...base, runId: null, accounts: [], corrections: [], stopped: null, ...summary(db) };
  }
  const { work, targets, client, verified } = opened;

  const runId = transaction(db, () => {
    const id = startRun(db, "push", request.now().toISOString());
    if (request.retryFailed) retryFailed(db, request.now().toISOString());
    return id;
  });
  const r = new PushRun(db, client, runId, request);
  const corrections: CorrectionPush[] = [];
  const accounts: AccountPush[] = [];
  let stopped: PushReport["stopped"] = null;
  try {
    await applyCorrections(r, work, corrections);
    for (const [id, group] of byAccount(work.rows, targets)) {
      const account = verified.get(id)!;
      const report = {
        ibkrAccounts: [...group.ibkr],
        wealthfolioAccount: { id, name: account.name, trackingMode: account.trackingMode },
        new: {} as Record<string, number>,
        alreadyInWealthfolio: 0,
        failed: 0,
        assets: [] as AssetPush[],
      };
      accounts.push(report);
      await pushAccount(r, id, group.rows, report);
    }
  } catch (e) {
    if (!isWealthfolioStop(e)) {
      finish(r, "failed", 1, accounts, corrections);
      throw e;
    }
    stopped = { exitCode: request.exitCodeOf(e), message: e.message };
    log.error("push stopped: {message}", { message: e.message });
  }
  const refused = accounts.reduce((n, a) => n + a.failed, 0);
  const exitCode = stopped?.exitCode ??
    (refused > 0 ? request.exitCodeOf(new RowsRefusedError(refused)) : 0);
  finish(r, stopped ? "failed" : "ok", exitCode, accounts, corrections);
  return { ...base, runId, accounts, corrections, stopped, ...summary(db) };
}

function isWealthfolioStop(e: unknown): e is Error {
  return e instanceof WealthfolioUnavailableError || e instanceof WealthfolioProtocolError ||
    e instanceof WealthfolioAccountError || e instanceof WealthfolioAuthError;
}

function finish(
  r: PushRun,
  outcome: "ok" | "failed",
  exitCode: number,
  accounts: readonly AccountPush[],
  corrections: readonly CorrectionPush[],
): void {
  const sum = (f: (a: AccountPush) => number) => accounts.reduce((n, a) => n + f(a), 0);
  transaction(r.db, () =>
    finishRun(r.db, r.runId, {
      finishedAt: r.now(),
      outcome,
      exitCode,
      counts: {
        created: sum((a) => Object.values(a.new).reduce((x, y) => x + y, 0)),
        alreadyInWealthfolio: sum((a) => a.alreadyInWealthfolio),
        failed: sum((a) => a.failed),
        corrections: corrections.length,
      },
    }));
}

/** Step 1: deletes owed, and superseded rows Wealthfolio turns out to hold. */
async function applyCorrections(
  r: PushRun,
  work: Work,
  out: CorrectionPush[],
): Promise<void> {
  const keys = [
    ...new Set([...work.corrections.map((c) => c.targetKey), ...work.superseded.map((s) => s.key)]),
  ];
  if (keys.length === 0) return;
  const present = await heldKeys(r.client, keys);
  if (work.superseded.length > 0) {
    const owed = new Set(work.corrections.map((c) => c.targetKey));
    const found = work.superseded.filter((s) => present.has(s.key) && !owed.has(s.key));
    recordChunk(r.db, {
      runId: r.runId,
      seq: r.nextSeq(),
      kind: "check",
      wfAccountId: null,
      rows: work.superseded.length,
      found: new Map(),
      created: new Map(),
      failed: new Map(),
      absent: work.superseded.filter((s) => !present.has(s.key)).map((s) => s.key),
      owed: found.map((s) => ({
        targetKey: s.key,
        cancelKey: s.cancelledBy ?? "",
        reason: FOUND_SUPERSEDED,
      })),
      calls: Math.ceil(keys.length / CHECK_KEYS),
      now: r.now(),
    });
    if (found.length) {
      log.warn("{n} superseded activities are in Wealthfolio: deleting them", { n: found.length });
    }
  }
  for (const c of pendingCorrections(r.db)) {
    const id = present.get(c.targetKey);
    let outcome: CorrectionPush["outcome"] = "already-gone";
    if (id !== undefined && await r.client.deleteActivity(id) === "deleted") outcome = "deleted";
    recordCorrectionApplied(r.db, {
      id: c.id,
      targetKey: c.targetKey,
      cancelKey: c.cancelKey,
      runId: r.runId,
      now: r.now(),
    });
    out.push({
      action: "delete",
      targetKey: c.targetKey,
      cancelKey: c.cancelKey,
      reason: c.reason,
      outcome,
    });
  }
}

/** One activity ready to send. */
interface Outgoing {
  readonly key: string;
  readonly type: string;
  readonly json: string;
  readonly bytes: number;
}

/** Steps 2 and 3 for one Wealthfolio account. */
async function pushAccount(
  r: PushRun,
  wfAccountId: string,
  rows: readonly PendingActivity[],
  report: {
    new: Record<string, number>;
    alreadyInWealthfolio: number;
    failed: number;
    assets: AssetPush[];
  },
): Promise<void> {
  // Step 2: what Wealthfolio already holds.
  const rest: PendingActivity[] = [];
  for (const chunk of chunksOf(rows, CHECK_KEYS)) {
    const found = await r.client.checkDuplicates(chunk.map((c) => c.key));
    recordChunk(r.db, {
      runId: r.runId,
      seq: r.nextSeq(),
      kind: "check",
      wfAccountId,
      rows: chunk.length,
      found,
      created: new Map(),
      failed: new Map(),
      calls: 1,
      now: r.now(),
    });
    report.alreadyInWealthfolio += found.size;
    for (const row of chunk) if (!found.has(row.key)) rest.push(row);
  }
  if (report.alreadyInWealthfolio) {
    log.info("{n} activities already in Wealthfolio, recorded as pushed", {
      n: report.alreadyInWealthfolio,
    });
  }
  if (rest.length === 0) return;

  // Step 3: assets, then the bulk chunks.
  const assets = await resolveAssets(
    { db: r.db, client: r.client, create: true, now: () => r.now() },
    rest.filter((row) => needsAsset(row.payload)).map((row) => row.payload),
  );
  report.assets.push(...[...assets.values()].map((a) => a.report));
  const outgoing: Outgoing[] = [];
  const unbookable = new Map<string, string>();
  const encoder = new TextEncoder();
  for (const row of rest) {
    const asset = assetOf(assets, row.payload);
    if (asset && !asset.ok) {
      unbookable.set(row.key, asset.message);
      continue;
    }
    const json = JSON.stringify(newActivity(row.payload, {
      accountId: wfAccountId,
      asset: asset?.ok ? asset.wire : null,
      sourceSystem: SOURCE_SYSTEM,
    }));
    outgoing.push({
      key: row.key,
      type: row.payload.activityType,
      json,
      bytes: encoder.encode(json).length,
    });
  }
  if (unbookable.size) {
    recordChunk(r.db, {
      runId: r.runId,
      seq: r.nextSeq(),
      kind: "create",
      wfAccountId,
      rows: unbookable.size,
      found: new Map(),
      created: new Map(),
      failed: unbookable,
      calls: 0,
      now: r.now(),
    });
    report.failed += unbookable.size;
  }
  // Chunks are cut as they go: a 413 (a proxy with a smaller limit) lowers the size for the rest.
  let done = 0;
  let n = 0;
  while (done < outgoing.length) {
    const chunk = nextChunk(outgoing, done, r.bodyLimit, r.request.batchSize ?? null);
    n++;
    const outcome = new ChunkResult();
    try {
      await sendChunk(r, wfAccountId, chunk, outcome);
    } finally {
      // Whatever Wealthfolio confirmed is recorded, even when the run stops here.
      recordChunk(r.db, {
        runId: r.runId,
        seq: r.nextSeq(),
        kind: "create",
        wfAccountId,
        rows: chunk.length,
        found: outcome.found,
        created: outcome.created,
        failed: outcome.failed,
        calls: outcome.calls,
        now: r.now(),
      });
      const types = new Map(chunk.map((o) => [o.key, o.type]));
      for (const key of outcome.created.keys()) {
        const t = types.get(key)!;
        report.new[t] = (report.new[t] ?? 0) + 1;
      }
      report.alreadyInWealthfolio += outcome.found.size;
      report.failed += outcome.failed.size;
    }
    done += chunk.length;
    log.info(
      "chunk {n}: {created} created, {found} already there, {failed} refused ({done}/{total})",
      {
        n,
        created: outcome.created.size,
        found: outcome.found.size,
        failed: outcome.failed.size,
        done,
        total: outgoing.length,
      },
    );
  }
}

const ENVELOPE_BYTES = '{"creates":[]}'.length;

/**
 * The next bulk body's activities from `start`: as many as fit `maxBytes` (and `batchSize`),
 * at least one.
 */
export function nextChunk<T extends { bytes: number }>(
  items: readonly T[],
  start: number,
  maxBytes: number,
  batchSize: number | null,
): T[] {
  let size = ENVELOPE_BYTES + items[start].bytes;
  let end = start + 1;
  while (end < items.length && (batchSize === null || end - start < batchSize)) {
    const added = items[end].bytes + 1; // and a comma
    if (size + added > maxBytes) break;
    size += added;
    end++;
  }
  return items.slice(start, end);
}

/** `items` cut into bodies of at most `maxBytes`. */
function cut<T extends { bytes: number }>(items: readonly T[], maxBytes: number): T[][] {
  const parts: T[][] = [];
  for (let at = 0; at < items.length;) {
    const part = nextChunk(items, at, maxBytes, null);
    parts.push(part);
    at += part.length;
  }
  return parts;
}

/** What one chunk came to so far. */
class ChunkResult {
  readonly found = new Map<string, string>();
  readonly created = new Map<string, string>();
  readonly failed = new Map<string, string>();
  calls = 0;
}

/**
 * Sends a chunk, isolating refused rows: every bulk call either records something or splits
 * the batch, so this ends, with each row created, found, or failed.
 */
async function sendChunk(
  r: PushRun,
  wfAccountId: string,
  chunk: readonly Outgoing[],
  result: ChunkResult,
): Promise<void> {
  const queue: Outgoing[][] = [[...chunk]];
  while (queue.length) {
    const batch = queue.shift()!;
    const body = `{"creates":[${batch.map((o) => o.json).join(",")}]}`;
    const bytes = ENVELOPE_BYTES + batch.reduce((n, o) => n + o.bytes + 1, -1);
    if (bytes > r.bodyLimit && batch.length > 1) {
      // Cut before a 413 lowered the limit: cut again.
      queue.unshift(...cut(batch, r.bodyLimit));
      continue;
    }
    result.calls++;
    const outcome = await r.client.bulkCreateBody(body, batch.map((o) => o.key));
    const split = () => {
      const half = Math.ceil(batch.length / 2);
      queue.unshift(batch.slice(0, half), batch.slice(half));
    };
    switch (outcome.kind) {
      case "created": {
        const missing: string[] = [];
        for (const o of batch) {
          const id = outcome.ids.get(o.key);
          if (id === undefined) missing.push(o.key);
          else result.created.set(o.key, id);
        }
        if (missing.length) {
          // Written (bulk is atomic) but not echoed: ask for the ids by key.
          result.calls++;
          const found = await r.client.checkDuplicates(missing);
          for (const key of missing) {
            const id = found.get(key);
            if (id === undefined) {
              throw new WealthfolioProtocolError(
                "POST /activities/bulk",
                200,
                `answered success but ${key} is not in Wealthfolio`,
              );
            }
            result.created.set(key, id);
          }
        }
        break;
      }
      case "rejected": {
        const byKey = new Map(batch.map((o) => [o.key, o]));
        const named = outcome.errors.filter((e) => e.id !== null && byKey.has(e.id));
        if (named.length) {
          for (const e of named) {
            const previous = result.failed.get(e.id!);
            result.failed.set(e.id!, previous ? `${previous}; ${e.message}` : e.message);
          }
          const others = batch.filter((o) => !result.failed.has(o.key));
          if (others.length) queue.unshift(others);
        } else if (batch.length === 1) {
          result.failed.set(batch[0].key, outcome.errors.map((e) => e.message).join("; "));
        } else split();
        break;
      }
      case "duplicate": {
        // Wealthfolio holds some of these already (a retried call that had landed, or a
        // concurrent writer): record them and send the rest.
        result.calls++;
        const found = await r.client.checkDuplicates(batch.map((o) => o.key));
        for (const [k, id] of found) result.found.set(k, id);
        const others = batch.filter((o) => !found.has(o.key));
        if (found.size && others.length) queue.unshift(others);
        else if (!found.size) {
          if (batch.length === 1) {
            result.failed.set(
              batch[0].key,
              `${outcome.message} (yet Wealthfolio holds no activity with this key)`,
            );
          } else split();
        }
        break;
      }
      case "too-large": {
        if (batch.length === 1) {
          result.failed.set(
            batch[0].key,
            `Wealthfolio refuses a body of ${batch[0].bytes} bytes (413) even alone`,
          );
          break;
        }
        r.bodyLimit = Math.min(r.bodyLimit, Math.floor(bytes / 2));
        log.warn("Wealthfolio refused a {bytes}-byte body (413): sending at most {limit}", {
          bytes,
          limit: r.bodyLimit,
        });
        queue.unshift(...cut(batch, r.bodyLimit));
        break;
      }
      case "refused": {
        if (/record not found/i.test(outcome.message)) {
          throw new WealthfolioAccountError(
            `Wealthfolio POST /activities/bulk: account ${wfAccountId} is gone (${outcome.message})`,
          );
        }
        throw new WealthfolioProtocolError(
          "POST /activities/bulk",
          outcome.status,
          `HTTP ${outcome.status}: ${outcome.message}`,
        );
      }
    }
  }
}
