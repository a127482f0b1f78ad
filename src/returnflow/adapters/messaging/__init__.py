"""Message brokers: the outbox relay to Dramatiq on Redis or RabbitMQ."""
