"""Background worker: claims outbox messages and delivers them."""
