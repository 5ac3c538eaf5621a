/**
 * Re-mapping after an upgrade: statements the journal holds that only an older mapping version
 * has mapped are mapped again from the journal's own bytes, so a fix in the mapping reaches every
 * row that is not in Wealthfolio yet without asking IBKR or finding the old files. Pushed rows stay
 * as they are (the activity writer leaves them alone); refused statements stay refused.
 */
import type { DatabaseSync } from "node:sqlite";
import { MAPPING_VERSION } from "../domain/activity.ts";
import { transaction } from "../journal/db.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import { type MappingSummary, mappingTotals, mapStoredDocument } from "./map_statement.ts";

/** A statement whose newest mapping is older than this build's. */
export interface StaleStatement {
  readonly statementId: number;
  readonly origin: string;
  /** The newest mapping version that mapped it. */
  readonly mappedBy: number;
  /** Its size: a large one is read on a worker thread. */
  readonly bytes: number;
}

/** One statement mapped again. */
export interface Remapped extends StaleStatement {
  readonly mapping: MappingSummary;
}

/**
 * Statements to map again, oldest business period first: corporate actions carry cost from the
 * journal's earlier activities, so history is replayed in the order it happened.
 */
export function staleStatements(db: DatabaseSync): StaleStatement[] {
  const rows = db.prepare(
    `SELECT s.id, s.origin, s.byte_size, MAX(m.mapping_version) AS mapped_by,
            (SELECT MIN(p.from_date) FROM statement_periods p WHERE p.statement_id = s.id) AS first_day
       FROM statements s JOIN statement_mappings m ON m.statement_id = s.id
      WHERE s.refused IS NULL
      GROUP BY s.id
     HAVING MAX(m.mapping_version) < ?
      ORDER BY first_day IS NULL, first_day, s.id`,
  ).all(MAPPING_VERSION) as { id: number; origin: string; byte_size: number; mapped_by: number }[];
  return rows.map((r) => ({
    statementId: Number(r.id),
    origin: String(r.origin),
    mappedBy: Number(r.mapped_by),
    bytes: Number(r.byte_size),
  }));
}

/**
 * Maps every stale statement again, inside the caller's transaction (so a refusal, e.g. an account
 * guard that no longer accepts an old statement, leaves the journal as it was).
 */
export function remapStale(
  db: DatabaseSync,
  o: {
    readonly accounts: readonly string[];
    readonly accountsSource: string | null;
    readonly runId: number;
    readonly now: string;
    /** The statements to map; by default those stale now. */
    readonly statements?: readonly StaleStatement[];
  },
): Remapped[] {
  const done: Remapped[] = [];
  for (const stale of o.statements ?? staleStatements(db)) {
    const summary = mapStoredDocument({
      db,
      statementId: stale.statementId,
      origin: stale.origin,
      accounts: o.accounts,
      accountsSource: o.accountsSource,
      runId: o.runId,
      now: o.now,
      bytes: stale.bytes,
    });
    done.push({ ...stale, mapping: summary });
  }
  return done;
}

/**
 * What `import` (and so `sync`) does before pushing: maps stale statements again, as one run of
 * its own in one transaction. The account guard is not applied again: each statement passed it
 * when it arrived (masked ids are still refused by the mapping). Returns how many were re-mapped.
 */
export function remapBeforePush(db: DatabaseSync, now: Date): number {
  const statements = staleStatements(db);
  if (statements.length === 0) return 0;
  return transaction(db, () => {
    const stamp = now.toISOString();
    const runId = startRun(db, "remap", stamp);
    const done = remapStale(db, {
      accounts: [],
      accountsSource: null,
      runId,
      now: stamp,
      statements,
    });
    const { journaled } = mappingTotals(done.map((r) => r.mapping));
    finishRun(db, runId, {
      finishedAt: new Date().toISOString(),
      outcome: "ok",
      exitCode: 0,
      counts: { statements: done.length, mappingVersion: MAPPING_VERSION, journaled },
    });
    return done.length;
  });
}
