-- Where a transport reaches a place when it posts there unprompted (a reminder, an alert, the
-- digest) after a restart, before anyone there has written again: an address the platform
-- itself gave for that place (the service address a chat platform named for a conversation).
-- Any transport, any place.

CREATE TABLE place_addresses (
    transport TEXT COLLATE "C" NOT NULL,
    place_id TEXT COLLATE "C" NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (transport, place_id)
);
