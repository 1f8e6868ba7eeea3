"""Microsoft Teams: activities in through Bot Framework's JWT-checked webhook, replies out
through the Bot Connector, questions as Adaptive Cards, and the app package."""
