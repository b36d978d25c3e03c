-- BPJS Antrean FKTP: patients registered by staff, and the calls still to make.
-- Applied to the node's queue database only when [bpjs] is configured. The triggers put a
-- call into bpjs_request in the same transaction as the queue event that causes it, so a
-- call is never lost between the queue and the sync thread, and never made twice.

CREATE TABLE IF NOT EXISTS bpjs_patient (
    id            INTEGER PRIMARY KEY,
    series        INTEGER NOT NULL,
    number        TEXT NOT NULL,         -- the ticket, "A-012"
    service       TEXT NOT NULL,         -- the service at registration (its poli)
    day           TEXT NOT NULL,         -- tanggalperiksa, YYYY-MM-DD
    nomorkartu    TEXT NOT NULL,
    nik           TEXT NOT NULL,
    nohp          TEXT NOT NULL,
    norm          TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    UNIQUE (series, number)
);

CREATE TABLE IF NOT EXISTS bpjs_request (
    id          INTEGER PRIMARY KEY,     -- order of sending
    patient     INTEGER NOT NULL REFERENCES bpjs_patient (id),
    call        TEXT NOT NULL,           -- add, panggil, batal
    present     INTEGER,                 -- panggil: 1 hadir, 0 tidak hadir
    reason      TEXT,                    -- batal: alasan
    event_ts    TEXT NOT NULL,           -- when it happened at the counter (ISO 8601)
    state       TEXT NOT NULL DEFAULT 'pending',   -- pending, accepted, refused
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    code        INTEGER,
    message     TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS bpjs_request_pending ON bpjs_request (state, id);

-- A registered patient's ticket is called (hadir) or skipped (tidak hadir).
CREATE TRIGGER IF NOT EXISTS bpjs_on_call AFTER INSERT ON outbox
WHEN NEW.type IN ('ticket.called', 'ticket.skipped')
BEGIN
    INSERT INTO bpjs_request (patient, call, present, event_ts)
    SELECT p.id, 'panggil', NEW.type = 'ticket.called', NEW.ts
    FROM bpjs_patient p
    WHERE p.number = json_extract(NEW.data, '$.number')
      AND p.series = (SELECT t.series FROM ticket t
                      WHERE t.number = json_extract(NEW.data, '$.number')
                      ORDER BY t.id DESC LIMIT 1);
END;
