-- The node's queue database (SQLite, WAL, synchronous=FULL).
-- Every state change and its outbox event commit in one transaction.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Last serial issued per service within one numbering series (one series per local day;
-- see edge/queue/clock.py for why a series is not simply the date).
CREATE TABLE IF NOT EXISTS serial_counter (
    series  INTEGER NOT NULL,
    service TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (series, service)
);

CREATE TABLE IF NOT EXISTS ticket (
    id          INTEGER PRIMARY KEY,
    series      INTEGER NOT NULL,
    day         TEXT NOT NULL,          -- local date label at issue, YYYY-MM-DD
    service     TEXT NOT NULL,          -- current service (changes on transfer)
    number      TEXT NOT NULL,          -- "A-007", fixed at issue
    state       TEXT NOT NULL,          -- waiting, called, completed, skipped
    assisted    INTEGER NOT NULL,       -- 1: issued at the Braille kiosk
    source      TEXT NOT NULL,          -- kiosk node or "cmd"
    queue_pos   INTEGER NOT NULL,       -- order of arrival in its current queue
    counter     INTEGER,                -- counter serving or last serving it
    calls       INTEGER NOT NULL DEFAULT 0,
    issued_at   TEXT NOT NULL,
    called_at   TEXT,
    finished_at TEXT,
    UNIQUE (series, number)
);
CREATE INDEX IF NOT EXISTS ticket_waiting ON ticket (series, state, service, queue_pos);

CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY,           -- per node, gap-free from 1
    id   TEXT NOT NULL UNIQUE,          -- uuid4
    ts   TEXT NOT NULL,                 -- ISO 8601, local offset
    type TEXT NOT NULL,
    data TEXT NOT NULL                  -- JSON object
);
