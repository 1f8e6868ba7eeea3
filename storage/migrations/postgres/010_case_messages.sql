-- Which chat message made or joined which case, by "place|message" on its platform: a thread
-- reply, an edit or a deletion of that message finds its case here.

CREATE TABLE case_messages (
    transport TEXT COLLATE "C" NOT NULL,
    message_key TEXT COLLATE "C" NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    PRIMARY KEY (transport, message_key, case_id)
);
CREATE INDEX case_messages_case ON case_messages (case_id);
