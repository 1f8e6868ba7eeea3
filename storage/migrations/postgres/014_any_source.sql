-- A case's source is the transport it came through, named by its adapter in bot/: any name, so
-- a new chat platform needs no migration. The first schema listed the three transports there
-- were; an empty name is still refused. (The column CHECK had PostgreSQL's generated name.)
ALTER TABLE cases
    DROP CONSTRAINT cases_source_check,
    ADD CONSTRAINT cases_source_check CHECK (source <> '');
