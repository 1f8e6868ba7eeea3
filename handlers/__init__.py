"""Casebook's logic, free of any chat platform: a handler takes an Incoming, returns Outgoings."""
