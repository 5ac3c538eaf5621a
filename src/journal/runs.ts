/** The `runs` table: every command that changed the journal, its outcome and its counts. */
import type { DatabaseSync } from "node:sqlite";

/** Starts a run inside the caller's transaction; returns its id. */
export function startRun(db: DatabaseSync, command: string, startedAt: string): number {
  const r = db.prepare("INSERT INTO runs (command, started_at, outcome) VALUES (?, ?, 'running')")
    .run(command, startedAt);
  return Number(r.lastInsertRowid);
}

/** Finishes a run with its outcome, exit code and counts. */
export function finishRun(
  db: DatabaseSync,
  id: number,
  r: { finishedAt: string; outcome: "ok" | "failed"; exitCode: number; counts: unknown },
): void {
  db.prepare("UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, counts = ? WHERE id = ?")
    .run(r.finishedAt, r.outcome, r.exitCode, JSON.stringify(r.counts), id);
}

/** A run as `status` shows it. */
export interface RunRecord {
  readonly id: number;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly outcome: string;
  readonly exitCode: number | null;
  readonly counts: Record<string, unknown>;
}

const RUN_COLUMNS = "id, command, started_at, finished_at, outcome, exit_code, counts";

/** The latest runs, newest first. */
export function latestRuns(db: DatabaseSync, limit: number): RunRecord[] {
  return (db.prepare(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?`)
    .all(limit) as Record<string, unknown>[]).map(runRecord);
}

/** The newest run of `command` that finished ok, or null: e.g. the last successful `sync`. */
export function lastSuccessfulRun(db: DatabaseSync, command: string): RunRecord | null {
  const r = db.prepare(
    `SELECT ${RUN_COLUMNS} FROM runs
     WHERE command = ? AND outcome = 'ok' AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1`,
  ).get(command) as Record<string, unknown> | undefined;
  return r ? runRecord(r) : null;
}

function runRecord(r: Record<string, unknown>): RunRecord {
  return {
    id: Number(r.id),
    command: String(r.command),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    outcome: String(r.outcome),
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    counts: JSON.parse(String(r.counts)),
  };
}
