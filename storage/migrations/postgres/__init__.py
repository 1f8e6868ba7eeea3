"""The PostgreSQL forms of the numbered migrations, where its SQL must differ from SQLite's."""
