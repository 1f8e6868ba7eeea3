-- Report places Casebook has introduced itself in: the first message goes once per place,
-- however often the bot restarts.

CREATE TABLE welcomed_places (
    transport TEXT COLLATE "C" NOT NULL,
    place_id TEXT COLLATE "C" NOT NULL,
    welcomed_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (transport, place_id)
);
