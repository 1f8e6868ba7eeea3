-- Report places Casebook has introduced itself in: the first message goes once per place,
-- however often the bot restarts.

CREATE TABLE welcomed_places (
    transport TEXT NOT NULL,
    place_id TEXT NOT NULL,
    welcomed_at TEXT NOT NULL,
    PRIMARY KEY (transport, place_id)
);
