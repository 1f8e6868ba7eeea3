-- Whose direct chat a sent message went to. Its `message_ref` names that chat (a Slack DM
-- channel, or a Telegram private chat whose id is the person's own), so erasing the person, or
-- retention, must be able to find and blank it.
ALTER TABLE outbox ADD COLUMN direct_person_id BIGINT REFERENCES people(id);
