"""The config file: what it may hold (schema), how it is read (parser), how it is shown
(description)."""
