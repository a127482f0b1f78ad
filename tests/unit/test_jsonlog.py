"""JSON log lines carry the request id and never an email address in clear."""

import json
import logging

from returnflow.adapters.jsonlog import JsonFormatter, request_id


def test_emails_and_personal_fields_are_masked_and_the_request_id_is_kept() -> None:
    record = logging.makeLogRecord({"name": "returnflow.web", "levelname": "INFO", "levelno": 20,
                                    "msg": "lookup by ann.smith@example.com", "args": (),
                                    "customer_email": "ann.smith@example.com", "address": "1 High St",
                                    "query": "email=bob@shop.co.uk"})
    token = request_id.set("r-1")
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert entry["message"] == "lookup by a***@example.com"
    assert entry["customer_email"] == "***" and entry["address"] == "***"
    assert entry["query"] == "email=b***@shop.co.uk"
    assert entry["request_id"] == "r-1"
