-- Raw webhook bodies too large for a Kafka message (the broker's default limit is 1 MB; GitHub sends up to
-- 25 MB). The raw topic's message names the row (header devtrack-payload-ref) and carries its SHA-256; the
-- normalize worker reads the body from here. Rows are kept as long as the raw topic keeps its messages
-- (30 days), so `devtrack replay` still rebuilds everything; the scheduler deletes older ones.
CREATE TABLE IF NOT EXISTS large_payloads (
    id          uuid PRIMARY KEY,
    topic       text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS large_payloads_created_at ON large_payloads (created_at);
