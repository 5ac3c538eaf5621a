/**
 * Statements from the Flex Web Service into the journal, one window at a time: what `fetch` and
 * `backfill --from` share.
 *
 * Each window is its own pair of transactions, so an interrupted run keeps every window it
 * finished. The raw bytes are committed first (a crash after the download loses nothing: the
 * next run maps them from the journal without asking IBKR again); then the statement is mapped
 * behind the account guard and the window check. A statement refused at that point keeps its
 * bytes, flagged `refused` with the reason, and maps to nothing; its window is recorded refused.
 */
import { createHash } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { MAPPING_VERSION } from "../domain/activity.ts";
import {
  AccountGuardError,
  FlexDocumentError,
  FlexErrorResponse,
  FlexRowError,
  ShortStatementError,
} from "../flex/errors.ts";
import type { StatementInfo } from "../flex/reader.ts";
import type { FetchedStatement } from "../flex/service_client.ts";
import { type FlexWindow, windowText } from "../flex/windows.ts";
import { transaction } from "../journal/db.ts";
import {
  downloadedFetchWindows,
  type FetchWindowState,
  findFetchWindow,
  recordFetchWindow,
} from "../journal/fetch_windows.ts";
import { inLockedJournal, type RunLock } from "../journal/lock.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import {
  clearStatementRefusal,
  findStatementBySha,
  insertStatement,
  isMappedBy,
  markStatementRefused,
  StatementChunkWriter,
} from "../journal/statements.ts";
import { type MappingSummary, mappingTotals, mapStoredDocument } from "./map_statement.ts";

/** Where statements come from: the Flex Web Service client, in production. */
export interface StatementSource {
  fetchStatement(window: FlexWindow): Promise<FetchedStatement>;
  /** HTTP calls made so far, failed ones included. */
  readonly callsMade: number;
}

export interface FlexWindowsRequest {
  readonly dataDir: string;
  readonly command: "fetch" | "backfill";
  readonly queryId: string;
  /** The windows to ask for, in order, planned once the journal is open (fetch reads where it stopped). */
  readonly plan: (db: DatabaseSync) => readonly FlexWindow[];
  /** Whether a window already mapped is left alone (backfill resuming) or asked again (fetch). */
  readonly skipFetched: boolean;
  readonly accounts: readonly string[];
  readonly accountsSource?: string | null;
  readonly source: StatementSource;
  readonly now: () => Date;
  /** The exit code a failure ends the run with, recorded in `runs`. */
  readonly exitCodeOf: (error: unknown) => number;
  readonly onPlan?: (windows: readonly FlexWindow[]) => void;
  readonly onWindow?: (result: WindowResult, index: number, total: number) => void;
  /** The run lock when the caller holds it (`sync`); taken and released here otherwise. */
  readonly lock?: RunLock;
}

/**
 * What happened to one window: `journaled` (fetched and mapped now), `already-journaled` (IBKR
 * sent bytes the journal already had), `remapped` (those bytes, mapped again now), `recovered`
 * (fetched by an earlier run that stopped before mapping; mapped now, IBKR not asked), or
 * `already-fetched` (backfill: mapped by an earlier run, not asked again).
 */
export interface WindowResult {
  readonly fromDate: string;
  readonly toDate: string;
  readonly outcome:
    | "journaled"
    | "already-journaled"
    | "remapped"
    | "recovered"
    | "already-fetched";
  readonly statementId: number | null;
  readonly sha256: string | null;
  readonly bytes: number | null;
  /** HTTP calls this window took in this run. */
  readonly calls: number;
  readonly mapping: MappingSummary | null;
}

export interface FlexWindowsResult {
  readonly runId: number;
  readonly journal: string;
  readonly queryId: string;
  readonly windows: readonly WindowResult[];
  /**
   * The statements this run stored or mapped, in window order: what a push step takes next
   * (the seam for the Wealthfolio import).
   */
  readonly statementIds: readonly number[];
}

interface Context {
  readonly db: DatabaseSync;
  readonly request: FlexWindowsRequest;
  readonly runId: number;
}

/** Runs the windows; throws the first failure's typed error after recording it. */
export async function fetchFlexWindows(request: FlexWindowsRequest): Promise<FlexWindowsResult> {
  return await inLockedJournal(request.dataDir, request.lock, true, async (db, path) => {
    const runId = transaction(db, () => startRun(db, request.command, stamp(request)));
    const ctx: Context = { db, request, runId };
    const results: WindowResult[] = [];
    try {
      // A run that stopped between download and mapping left statements to finish first.
      const recovered = new Set<string>();
      for (const left of downloadedFetchWindows(db)) {
        results.push(
          mapStored(ctx, left.queryId, left.window, left.statementId!, 0, "recovered", true),
        );
        recovered.add(`${left.queryId} ${windowText(left.window)}`);
      }
      const windows = request.plan(db).filter((w) =>
        !recovered.has(`${request.queryId} ${windowText(w)}`)
      );
      request.onPlan?.(windows);
      for (const [index, window] of windows.entries()) {
        const result = await fetchWindow(ctx, window);
        results.push(result);
        request.onWindow?.(result, index, windows.length);
      }
    } catch (error) {
      transaction(db, () =>
        finishRun(db, runId, {
          finishedAt: stamp(request),
          outcome: "failed",
          exitCode: request.exitCodeOf(error),
          counts: { ...runCounts(results), error: (error as Error).message ?? String(error) },
        }));
      throw error;
    }
    transaction(db, () =>
      finishRun(db, runId, {
        finishedAt: stamp(request),
        outcome: "ok",
        exitCode: 0,
        counts: runCounts(results),
      }));
    return {
      runId,
      journal: path,
      queryId: request.queryId,
      windows: results,
      statementIds: [
        ...new Set(
          results.filter((r) => r.statementId !== null && r.outcome !== "already-fetched")
            .map((r) => r.statementId!),
        ),
      ],
    };
  });
}

async function fetchWindow(ctx: Context, window: FlexWindow): Promise<WindowResult> {
  const { db, request } = ctx;
  const queryId = request.queryId;
  if (request.skipFetched) {
    const known = findFetchWindow(db, request.queryId, window);
    if (known?.state === "mapped") {
      return {
        fromDate: window.from,
        toDate: window.to,
        outcome: "already-fetched",
        statementId: known.statementId,
        sha256: null,
        bytes: null,
        calls: 0,
        mapping: null,
      };
    }
  }
  const callsBefore = request.source.callsMade;
  let fetched: FetchedStatement;
  try {
    fetched = await request.source.fetchStatement(window);
  } catch (error) {
    transaction(
      db,
      () =>
        record(ctx, queryId, window, "failed", null, request.source.callsMade - callsBefore, error),
    );
    throw error;
  }
  const calls = fetched.calls;
  const sha256 = createHash("sha256").update(fetched.bytes).digest("hex");
  const stored = findStatementBySha(db, sha256);
  if (stored) {
    if (stored.refused === null && isMappedBy(db, stored.id, MAPPING_VERSION)) {
      transaction(db, () => record(ctx, queryId, window, "mapped", stored.id, calls, null));
      return {
        fromDate: window.from,
        toDate: window.to,
        outcome: "already-journaled",
        statementId: stored.id,
        sha256,
        bytes: stored.byteSize,
        calls,
        mapping: null,
      };
    }
    return mapStored(ctx, request.queryId, window, stored.id, calls, "remapped", true);
  }
  // The raw bytes first, committed on their own: parsing can refuse them, a crash can stop us,
  // and neither may lose what IBKR sent.
  const statementId = transaction(db, () => {
    const id = insertStatement(db, {
      sha256,
      source: "flex-ws",
      origin: originOf(request.queryId, window),
      byteSize: fetched.bytes.byteLength,
      receivedAt: stamp(request),
    });
    const chunks = new StatementChunkWriter(db, id);
    chunks.write(fetched.bytes);
    chunks.close();
    record(ctx, queryId, window, "downloaded", id, calls, null);
    return id;
  });
  return mapStored(ctx, request.queryId, window, statementId, calls, "journaled", false);
}

/** Maps a stored statement of `window`; a refusal is recorded, then thrown. */
function mapStored(
  ctx: Context,
  queryId: string,
  window: FlexWindow,
  statementId: number,
  calls: number,
  outcome: "journaled" | "remapped" | "recovered",
  /** False when the calls were already recorded with the download. */
  recordCalls: boolean,
): WindowResult {
  const recorded = recordCalls ? calls : 0;
  const { db, request } = ctx;
  const origin = originOf(queryId, window);
  const now = stamp(request);
  try {
    return transaction(db, () => {
      const stored = db.prepare("SELECT sha256, byte_size FROM statements WHERE id = ?").get(
        statementId,
      ) as { sha256: string; byte_size: number };
      // The size decides, as for a file, whether the statement is read on a worker thread.
      const summary = mapStoredDocument({
        db,
        statementId,
        origin,
        accounts: request.accounts,
        accountsSource: request.accountsSource ?? null,
        runId: ctx.runId,
        now,
        checkStatement: (info) => checkCovers(origin, window, info),
        bytes: stored.byte_size,
      });
      clearStatementRefusal(db, statementId);
      record(ctx, queryId, window, "mapped", statementId, recorded, null);
      return {
        fromDate: window.from,
        toDate: window.to,
        outcome,
        statementId,
        sha256: stored.sha256,
        bytes: stored.byte_size,
        calls,
        mapping: summary,
      };
    });
  } catch (error) {
    if (isStatementRefusal(error)) {
      transaction(db, () => {
        markStatementRefused(db, statementId, (error as Error).message);
        record(ctx, queryId, window, "refused", statementId, recorded, error);
      });
    }
    throw error;
  }
}

/** Every `<FlexStatement>` must cover the window asked for (contract §1.5: the v3 one-day quirk). */
function checkCovers(origin: string, window: FlexWindow, info: StatementInfo): void {
  const covers = info.fromDate !== null && info.toDate !== null &&
    info.fromDate <= window.from && info.toDate >= window.to;
  if (!covers) {
    throw new ShortStatementError(origin, info.accountId, window, {
      from: info.fromDate,
      to: info.toDate,
    });
  }
}

function isStatementRefusal(error: unknown): boolean {
  return error instanceof FlexDocumentError || error instanceof FlexErrorResponse ||
    error instanceof FlexRowError || error instanceof AccountGuardError ||
    error instanceof ShortStatementError;
}

function record(
  ctx: Context,
  queryId: string,
  window: FlexWindow,
  state: FetchWindowState,
  statementId: number | null,
  calls: number,
  error: unknown,
): void {
  recordFetchWindow(ctx.db, {
    queryId,
    window,
    command: ctx.request.command,
    state,
    statementId,
    calls,
    error: error === null ? null : (error as Error).message ?? String(error),
    runId: ctx.runId,
    updatedAt: stamp(ctx.request),
  });
}

/** How a fetched statement is named in the journal and in messages. */
export function originOf(queryId: string, window: FlexWindow): string {
  return `Flex query ${queryId} ${windowText(window)}`;
}

function stamp(request: FlexWindowsRequest): string {
  return request.now().toISOString();
}

function runCounts(results: readonly WindowResult[]): Record<string, unknown> {
  const windows: Record<string, number> = {};
  let calls = 0;
  for (const r of results) {
    windows[r.outcome] = (windows[r.outcome] ?? 0) + 1;
    calls += r.calls;
  }
  const { journaled } = mappingTotals(results.map((r) => r.mapping));
  return { windows, journaled, calls };
}
