/** The `statements` table and its chunks and periods: raw documents exactly as received. */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export type StatementSource = "flex-ws" | "file";

/** A stored document's header row. */
export interface StoredStatement {
  readonly id: number;
  readonly sha256: string;
  readonly source: StatementSource;
  readonly origin: string;
  readonly byteSize: number;
  readonly receivedAt: string;
  /** Why the statement was refused after it was stored (fetched statements only), or null. */
  readonly refused: string | null;
}

/** Size of one stored chunk; large enough to keep row overhead negligible. */
export const CHUNK_BYTES = 1 << 20;

/** Looks a document up by its sha256. */
export function findStatementBySha(db: DatabaseSync, sha256: string): StoredStatement | undefined {
  const row = db.prepare(
    "SELECT id, sha256, source, origin, byte_size, received_at, refused FROM statements WHERE sha256 = ?",
  ).get(sha256) as Record<string, unknown> | undefined;
  return row ? toStored(row) : undefined;
}

/** Inserts the header of a document whose bytes follow through a StatementChunkWriter. */
export function insertStatement(
  db: DatabaseSync,
  s: {
    sha256: string;
    source: StatementSource;
    origin: string;
    byteSize: number;
    receivedAt: string;
  },
): number {
  const result = db.prepare(
    "INSERT INTO statements (sha256, source, origin, byte_size, received_at) VALUES (?, ?, ?, ?, ?)",
  ).run(s.sha256, s.source, s.origin, s.byteSize, s.receivedAt);
  return Number(result.lastInsertRowid);
}

/** Records the query name once the reader has seen it. */
export function setStatementQueryName(
  db: DatabaseSync,
  id: number,
  queryName: string | null,
): void {
  db.prepare("UPDATE statements SET query_name = ? WHERE id = ?").run(queryName, id);
}

/** Buffers bytes into CHUNK_BYTES chunks and stores each as it fills. */
export class StatementChunkWriter {
  readonly #insert: StatementSync;
  readonly #statementId: number;
  readonly #buffer = new Uint8Array(CHUNK_BYTES);
  #filled = 0;
  #seq = 0;

  constructor(db: DatabaseSync, statementId: number) {
    this.#insert = db.prepare(
      "INSERT INTO statement_chunks (statement_id, seq, bytes) VALUES (?, ?, ?)",
    );
    this.#statementId = statementId;
  }

  write(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const n = Math.min(CHUNK_BYTES - this.#filled, bytes.byteLength - offset);
      this.#buffer.set(bytes.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === CHUNK_BYTES) this.#flush();
    }
  }

  close(): void {
    if (this.#filled > 0) this.#flush();
  }

  #flush(): void {
    this.#insert.run(this.#statementId, this.#seq++, this.#buffer.subarray(0, this.#filled));
    this.#filled = 0;
  }
}

/** Streams a stored document's bytes back, chunk by chunk, in order. */
export function* statementBytes(db: DatabaseSync, statementId: number): Generator<Uint8Array> {
  const select = db.prepare(
    "SELECT bytes FROM statement_chunks WHERE statement_id = ? AND seq = ?",
  );
  for (let seq = 0;; seq++) {
    const row = select.get(statementId, seq) as { bytes: Uint8Array } | undefined;
    if (!row) return;
    yield row.bytes;
  }
}

/**
 * Flags a stored statement as refused: its bytes stay as evidence of what was received, but it
 * maps to nothing and readers of the journal's statements pass it by.
 */
export function markStatementRefused(db: DatabaseSync, id: number, reason: string): void {
  db.prepare("UPDATE statements SET refused = ? WHERE id = ?").run(reason, id);
}

/** Clears a refusal once the statement has been mapped after all (e.g. the guard was fixed). */
export function clearStatementRefusal(db: DatabaseSync, id: number): void {
  db.prepare("UPDATE statements SET refused = NULL WHERE id = ?").run(id);
}

/** Whether a statement's `<FlexStatement>` periods are recorded (not for a refused one). */
export function hasStatementPeriods(db: DatabaseSync, id: number): boolean {
  return db.prepare("SELECT 1 FROM statement_periods WHERE statement_id = ?").get(id) !==
    undefined;
}

/** Records one `<FlexStatement>` of a document. */
export function insertStatementPeriod(
  db: DatabaseSync,
  p: {
    statementId: number;
    ordinal: number;
    accountId: string;
    fromDate: string | null;
    toDate: string | null;
    period: string | null;
    whenGenerated: string | null;
  },
): void {
  db.prepare(
    `INSERT INTO statement_periods (statement_id, ordinal, account_id, from_date, to_date, period, when_generated)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(p.statementId, p.ordinal, p.accountId, p.fromDate, p.toDate, p.period, p.whenGenerated);
}

/** Records that a mapping version has mapped a statement, with its counts. */
export function recordStatementMapping(
  db: DatabaseSync,
  m: {
    statementId: number;
    mappingVersion: number;
    mappedAt: string;
    runId: number;
    summary: unknown;
  },
): void {
  db.prepare(
    `INSERT OR REPLACE INTO statement_mappings (statement_id, mapping_version, mapped_at, run_id, summary)
     VALUES (?, ?, ?, ?, ?)`,
  ).run(m.statementId, m.mappingVersion, m.mappedAt, m.runId, JSON.stringify(m.summary));
}

/** Whether a statement has been mapped by this mapping version. */
export function isMappedBy(db: DatabaseSync, statementId: number, mappingVersion: number): boolean {
  return db.prepare(
    "SELECT 1 FROM statement_mappings WHERE statement_id = ? AND mapping_version = ?",
  ).get(statementId, mappingVersion) !== undefined;
}

function toStored(row: Record<string, unknown>): StoredStatement {
  return {
    id: Number(row.id),
    sha256: String(row.sha256),
    source: row.source as StatementSource,
    origin: String(row.origin),
    byteSize: Number(row.byte_size),
    receivedAt: String(row.received_at),
    refused: row.refused === null || row.refused === undefined ? null : String(row.refused),
  };
}
