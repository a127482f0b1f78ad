"""Outgoing webhooks to merchants' systems, signed per the Standard Webhooks specification."""
