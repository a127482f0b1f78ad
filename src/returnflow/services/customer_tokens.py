"""Customer tokens: signed, scoped to one order, expiring (itsdangerous, HMAC-SHA1 timestamped signer).

A customer proves who they are once (order number + email) and gets a token that opens only that order
and its returns for ``max_age`` seconds. The signing key is ``RETURNFLOW_SECRET_KEY`` (from the environment).
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from returnflow.domain.errors import DomainError
from returnflow.domain.orders import Order
from returnflow.services.returns import UowFactory, find_order

SALT = "returnflow.customer-order"


class TokenInvalid(DomainError):
    """The token is forged, malformed or expired (the API answers 401)."""

    title = "Invalid customer token"


def issue(uow_factory: UowFactory, *, order_number: str, proof: str, secret_key: str) -> tuple[Order, str]:
    """Check the proof like an order lookup, then sign a token for that order. Raises ``NotFound``."""
    order, _ = find_order(uow_factory, order_number=order_number, proof=proof)
    return order, URLSafeTimedSerializer(secret_key, salt=SALT).dumps({"order": order.order_number})


def order_of(token: str, *, secret_key: str, max_age: int) -> str:
    """The order number the token opens. Raises ``TokenInvalid`` (bad signature or older than ``max_age`` s)."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenInvalid("the customer token has expired; look up the order again") from None
    except BadSignature:
        raise TokenInvalid("the customer token is not valid") from None
    return str(data["order"])
