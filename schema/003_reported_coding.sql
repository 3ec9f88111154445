-- Daily coding totals reported by the original DevTrack editor plugin (`POST /api/local-coding/sync`).
-- The plugin sends cumulative totals, so a re-sent day replaces the row. A day's coding time is the
-- larger of this and the heartbeat-derived total (one editor may run both plugins).
CREATE TABLE coding_reported (
    user_id        uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    day            date NOT NULL,
    seconds        integer NOT NULL CHECK (seconds BETWEEN 0 AND 86400),
    file_count     integer,
    project_count  integer,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
