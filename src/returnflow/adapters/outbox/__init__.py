"""The transactional outbox: claiming due messages, acknowledging them, retrying with backoff, parking dead ones."""
