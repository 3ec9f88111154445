-- Data exports (issue 16): a user's request for everything the hub holds about them. The rows are read when the
-- export is downloaded (streamed from one snapshot, never held in memory); this keeps who asked, when it stops being
-- downloadable, and how many rows each section had when it was made.
CREATE TABLE data_exports (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rows        jsonb NOT NULL,
    downloads   integer NOT NULL DEFAULT 0
);
CREATE INDEX data_exports_user ON data_exports (user_id, created_at DESC);
