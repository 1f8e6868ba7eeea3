"""Transports: each turns its platform's events into Incoming and sends Outgoing back."""
