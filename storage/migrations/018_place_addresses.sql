-- Where a transport reaches a place when it posts there unprompted (a reminder, an alert, the
-- digest) after a restart, before anyone there has written again: an address the platform
-- itself gave for that place (the service address a chat platform named for a conversation).
-- Any transport, any place.

CREATE TABLE place_addresses (
    transport TEXT NOT NULL,
    place_id TEXT NOT NULL,
    address TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (transport, place_id)
);
