/**
 * `backfill FILE|DIR…`: saved Flex statements into the journal, mapped, in one transaction.
 *
 * All or nothing: if any file is refused (malformed, wrong account, an error response…) the
 * journal is left byte-for-byte as it was, and a journal this run created is removed again.
 */
import type { DatabaseSync } from "node:sqlite";
import { MAPPING_VERSION } from "../domain/activity.ts";
import {
  firstTransaction,
  journalExists,
  journalPath,
  openJournal,
  transaction,
} from "../journal/db.ts";
import { acquireRunLock } from "../journal/lock.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import {
  clearStatementRefusal,
  findStatementBySha,
  insertStatement,
  isMappedBy,
  setStatementQueryName,
  StatementChunkWriter,
} from "../journal/statements.ts";
import { forEachChunk, sha256File, statementFiles } from "./files.ts";
import {
  DocumentMapping,
  type MappingSummary,
  mappingTotals,
  mapStoredDocument,
} from "./map_statement.ts";

export interface BackfillRequest {
  readonly dataDir: string;
  readonly paths: readonly string[];
  /** Accepted IBKR account ids (the account guard); empty accepts any. */
  readonly accounts: readonly string[];
  /** Where `accounts` came from, for the guard's message. */
  readonly accountsSource?: string | null;
  readonly now: () => Date;
  /** Called for each file once the run is committed (never for a refused run), for logs. */
  readonly onFile?: (result: FileResult, index: number, total: number) => void;
}

/** What happened to one file. */
export interface FileResult {
  readonly path: string;
  readonly sha256: string;
  /** `journaled`: new; `already-journaled`: same bytes seen before; `remapped`: seen before, mapped again by a newer mapping version. */
  readonly outcome: "journaled" | "already-journaled" | "remapped";
  readonly bytes: number;
  readonly mapping: MappingSummary | null;
}

export interface BackfillResult {
  readonly runId: number | null;
  readonly journal: string;
  readonly files: readonly FileResult[];
}

/** Runs the backfill; throws a typed error (and changes nothing) when any input is refused. */
export function backfillFiles(request: BackfillRequest): BackfillResult {
  const files = statementFiles(request.paths);
  const path = journalPath(request.dataDir);
  const lock = acquireRunLock(request.dataDir);
  const existed = journalExists(path);
  let db: DatabaseSync | undefined;
  let committed = false;
  try {
    db = openJournal(path, { create: true });
    const hashes = files.map((file) => ({ file, sha256: sha256File(file) }));
    const pending = hashes.filter(({ sha256 }) => {
      const stored = findStatementBySha(db!, sha256);
      return !stored || !isMappedBy(db!, stored.id, MAPPING_VERSION);
    });
    if (pending.length === 0) {
      // Nothing new: no transaction, no run row, the journal is not touched.
      const results = hashes.map(({ file, sha256 }) => ({
        path: file,
        sha256,
        outcome: "already-journaled" as const,
        bytes: Deno.statSync(file).size,
        mapping: null,
      }));
      results.forEach((r, i) => request.onFile?.(r, i, results.length));
      committed = true;
      return { runId: null, journal: path, files: results };
    }
    const result = (existed ? transaction : firstTransaction)(db, () => {
      const now = request.now().toISOString();
      const runId = startRun(db!, "backfill", now);
      const results: FileResult[] = [];
      for (const { file, sha256 } of hashes) {
        results.push(ingestFile(db!, {
          file,
          sha256,
          accounts: request.accounts,
          accountsSource: request.accountsSource ?? null,
          runId,
          now,
        }));
      }
      finishRun(db!, runId, {
        finishedAt: request.now().toISOString(),
        outcome: "ok",
        exitCode: 0,
        counts: runCounts(results),
      });
      return { runId, journal: path, files: results };
    });
    committed = true;
    result.files.forEach((r, i) => request.onFile?.(r, i, result.files.length));
    return result;
  } finally {
    db?.close();
    if (!committed && !existed) removeJournal(path);
    lock.release();
  }
}

function ingestFile(
  db: DatabaseSync,
  o: {
    file: string;
    sha256: string;
    accounts: readonly string[];
    accountsSource: string | null;
    runId: number;
    now: string;
  },
): FileResult {
  const stored = findStatementBySha(db, o.sha256);
  if (stored && isMappedBy(db, stored.id, MAPPING_VERSION)) {
    return {
      path: o.file,
      sha256: o.sha256,
      outcome: "already-journaled",
      bytes: stored.byteSize,
      mapping: null,
    };
  }
  if (stored) {
    // Same bytes, older mapping: map again from the journal's own copy.
    const summary = mapStoredDocument({
      db,
      statementId: stored.id,
      origin: o.file,
      accounts: o.accounts,
      accountsSource: o.accountsSource,
      runId: o.runId,
      now: o.now,
      bytes: stored.byteSize,
    });
    if (stored.refused !== null) clearStatementRefusal(db, stored.id);
    return {
      path: o.file,
      sha256: o.sha256,
      outcome: "remapped",
      bytes: stored.byteSize,
      mapping: summary,
    };
  }
  const size = Deno.statSync(o.file).size;
  const statementId = insertStatement(db, {
    sha256: o.sha256,
    source: "file",
    origin: o.file,
    byteSize: size,
    receivedAt: o.now,
  });
  const chunks = new StatementChunkWriter(db, statementId);
  using mapping = new DocumentMapping({
    db,
    statementId,
    origin: o.file,
    accounts: o.accounts,
    accountsSource: o.accountsSource,
    recordPeriods: true,
    runId: o.runId,
    now: o.now,
    bytes: size,
  });
  forEachChunk(o.file, (chunk) => {
    chunks.write(chunk);
    mapping.write(chunk);
  });
  chunks.close();
  const { document, mapping: summary } = mapping.finish();
  setStatementQueryName(db, statementId, document.queryName);
  return { path: o.file, sha256: o.sha256, outcome: "journaled", bytes: size, mapping: summary };
}

function runCounts(results: readonly FileResult[]): Record<string, unknown> {
  return { files: results.length, ...mappingTotals(results.map((r) => r.mapping)) };
}

function removeJournal(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      Deno.removeSync(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}
