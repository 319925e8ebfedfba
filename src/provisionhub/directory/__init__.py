"""The directory core: people and their rules, the change log and the outbox. Knows no HTTP."""
