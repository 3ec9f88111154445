-- A custom source's mapping (EventMapping as JSON) for payloads that are not in the native format; NULL for
-- native sources and GitHub sources.
ALTER TABLE webhook_sources ADD COLUMN mapping jsonb;
