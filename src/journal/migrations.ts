/**
 * The journal's schema, as numbered migrations. A migration is never edited once released:
 * a change is a new entry. `PRAGMA user_version` records how far a journal has come.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the foundation.
  `
  CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL CHECK (source IN ('flex-ws', 'file')),
    origin TEXT NOT NULL,
    query_name TEXT,
    byte_size INTEGER NOT NULL,
    received_at TEXT NOT NULL
  );
  -- The raw bytes exactly as received, in 1 MiB chunks so a large statement never has to be
  -- held in memory whole. Never rewritten.
  CREATE TABLE statement_chunks (
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (statement_id, seq)
  ) WITHOUT ROWID;
  -- One row per <FlexStatement> in a document (one per account, or several per account).
  CREATE TABLE statement_periods (
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    ordinal INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    from_date TEXT,
    to_date TEXT,
    period TEXT,
    when_generated TEXT,
    PRIMARY KEY (statement_id, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX statement_periods_account ON statement_periods (account_id, to_date);
  -- Which mapping version has mapped a statement, and what it found.
  CREATE TABLE statement_mappings (
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    mapping_version INTEGER NOT NULL,
    mapped_at TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    summary TEXT NOT NULL,
    PRIMARY KEY (statement_id, mapping_version)
  ) WITHOUT ROWID;
  -- A rowid table: rows carry a ~650-byte payload, too large for WITHOUT ROWID to pay off.
  CREATE TABLE activities (
    key TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    activity_type TEXT,
    business_date TEXT,
    symbol TEXT,
    payload TEXT NOT NULL,
    mapping_version INTEGER NOT NULL,
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'pushed', 'skipped', 'failed', 'superseded')),
    reason TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX activities_state ON activities (state, account_id);
  CREATE INDEX activities_date ON activities (business_date);
  CREATE TABLE sync_records (
    key TEXT PRIMARY KEY REFERENCES activities(key),
    wf_activity_id TEXT NOT NULL,
    wf_account_id TEXT NOT NULL,
    pushed_at TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id)
  ) WITHOUT ROWID;
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed')),
    exit_code INTEGER,
    counts TEXT NOT NULL DEFAULT '{}'
  );
  CREATE TABLE reconciliations (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('position', 'cash')),
    item TEXT NOT NULL,
    broker_value TEXT,
    wf_value TEXT,
    drift TEXT NOT NULL,
    PRIMARY KEY (run_id, account_id, kind, item)
  ) WITHOUT ROWID;
  `,
  // 2: corrections. A cancel, reversal or refund row records what it undoes; the journal finds
  // the original and supersedes both, or records a correction when the original was pushed.
  `
  ALTER TABLE activities ADD COLUMN match_key TEXT;
  ALTER TABLE activities ADD COLUMN cancelled_by TEXT;
  CREATE INDEX activities_match ON activities (account_id, match_key) WHERE match_key IS NOT NULL;
  CREATE TABLE cancellations (
    key TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('reverse', 'net')),
    target_key TEXT,
    target_match TEXT,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    resolved_key TEXT,
    outcome TEXT,
    created_at TEXT NOT NULL,
    resolved_at TEXT
  ) WITHOUT ROWID;
  CREATE INDEX cancellations_open ON cancellations (state) WHERE state = 'open';
  -- What the push step must do in Wealthfolio because an already-pushed activity was undone.
  CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    target_key TEXT NOT NULL REFERENCES activities(key),
    action TEXT NOT NULL CHECK (action IN ('delete')),
    cancel_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'failed')),
    created_at TEXT NOT NULL,
    applied_at TEXT,
    run_id INTEGER REFERENCES runs(id),
    error TEXT,
    UNIQUE (target_key, action)
  );
  `,
  // 3: reconciliation results. Each line says how it came out and what it names; each
  // reconciled account records which statement and which Wealthfolio account were compared.
  `
  ALTER TABLE reconciliations ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok'
    CHECK (outcome IN ('ok', 'differs', 'missing-in-wealthfolio', 'only-in-wealthfolio'));
  ALTER TABLE reconciliations ADD COLUMN symbol TEXT;
  ALTER TABLE reconciliations ADD COLUMN detail TEXT;
  CREATE TABLE reconciled_accounts (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    account_id TEXT NOT NULL,
    wf_account_id TEXT NOT NULL,
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    statement_to_date TEXT,
    holdings_reads INTEGER NOT NULL,
    position_lines INTEGER NOT NULL,
    position_drifts INTEGER NOT NULL,
    cash_lines INTEGER NOT NULL,
    cash_drifts INTEGER NOT NULL,
    reconciled_at TEXT NOT NULL,
    PRIMARY KEY (run_id, account_id)
  ) WITHOUT ROWID;
  `,
  // 4: the Wealthfolio push. Assets resolved in Wealthfolio, one row per chunk a push sent, how
  // each pushed key got there, and which superseded rows Wealthfolio was checked not to hold.
  `
  CREATE TABLE wf_assets (
    base_url TEXT NOT NULL,
    instrument TEXT NOT NULL,
    wf_asset_id TEXT NOT NULL,
    quote_ccy TEXT NOT NULL,
    instrument_type TEXT,
    resolved_at TEXT NOT NULL,
    PRIMARY KEY (base_url, instrument)
  ) WITHOUT ROWID;
  CREATE TABLE push_chunks (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('check', 'create', 'delete')),
    wf_account_id TEXT,
    rows INTEGER NOT NULL,
    pushed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  ALTER TABLE sync_records ADD COLUMN how TEXT NOT NULL DEFAULT 'created'
    CHECK (how IN ('created', 'found'));
  ALTER TABLE activities ADD COLUMN wf_absent_at TEXT;
  `,
  // 5: the Flex Web Service. A fetched statement is stored before it is parsed, so a crash after
  // the download loses nothing; one that is then refused (wrong account, short, malformed) keeps
  // its bytes as evidence of what IBKR sent, says why, and maps to nothing. Each requested window
  // is recorded, which is how an interrupted backfill resumes and how fetch knows where it stopped.
  `
  ALTER TABLE statements ADD COLUMN refused TEXT;
  CREATE TABLE fetch_windows (
    id INTEGER PRIMARY KEY,
    query_id TEXT NOT NULL,
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('downloaded', 'mapped', 'refused', 'failed')),
    statement_id INTEGER REFERENCES statements(id),
    calls INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    updated_at TEXT NOT NULL,
    UNIQUE (query_id, from_date, to_date)
  );
  CREATE INDEX fetch_windows_mapped ON fetch_windows (query_id, to_date) WHERE state = 'mapped';
  `,
];
