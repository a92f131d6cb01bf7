"""Who may publish what: the expected publisher of each message, the consumer's check, and the users' grants."""

from __future__ import annotations

import base64
import hashlib
import re

from scenarios.users import definitions, grant, password_hash, service_url
from shared.config import Settings
from shared.domain.contracts import (
    ChargePayment,
    Order,
    OrderPlaced,
    PaymentCharged,
    PlaceOrder,
    StockReleased,
    TaskSucceeded,
)
from shared.runtime.publishers import PublisherCheck, expected_publisher

ORDER = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=100,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip
CHARGED = PaymentCharged(correlation_id="o-1", order=ORDER, payment_id="p", amount_cents=100)


def test_events_come_from_their_owner_and_commands_from_the_orchestrator() -> None:
    """An event's publisher is the service that emits its type; a participant's command comes from the
    orchestrator; a client's PlaceOrder and a generic participant's reply name no service."""
    assert expected_publisher(CHARGED) == "payment"
    assert expected_publisher(StockReleased(correlation_id="o-1", order_id="o-1", quantity=1)) == "inventory"
    assert expected_publisher(OrderPlaced(correlation_id="o-1", order=ORDER)) == "orders"
    assert expected_publisher(ChargePayment(correlation_id="o-1", order=ORDER)) == "orchestrator"
    assert expected_publisher(PlaceOrder(correlation_id="o-1", order=ORDER)) is None
    assert expected_publisher(TaskSucceeded(correlation_id="o-1")) is None


def test_the_check_refuses_any_user_but_the_owners() -> None:
    """Only the owner's user passes; the runner's guest, another service or no user_id at all is refused."""
    check = PublisherCheck("ns", enabled=True)
    assert check.refusal(CHARGED, "ns.payment") is None
    for user in ("guest", "ns.inventory", "other.payment", None):
        reason = check.refusal(CHARGED, user)
        assert reason is not None and "ns.payment" in reason
    assert PublisherCheck("ns", enabled=False).refusal(CHARGED, "guest") is None


def test_the_check_is_on_exactly_where_the_service_has_its_own_user() -> None:
    """A service logging in as its own user checks publishers unless --unsafe no-publisher-check; as guest it cannot."""
    own = Settings("inventory", "choreography", amqp_url="amqp://ns.inventory:pw@h:5672/", namespace="ns")
    assert PublisherCheck.for_service(own).enabled
    unsafe = Settings("inventory", "choreography", amqp_url=own.amqp_url, namespace="ns",
                      unsafe=frozenset({"no-publisher-check"}))  # fmt: skip
    assert not PublisherCheck.for_service(unsafe).enabled
    for url in ("amqp://guest:guest@h/", "amqp://ns.payment:pw@h/"):
        assert not PublisherCheck.for_service(Settings("inventory", "choreography", amqp_url=url, namespace="ns")).enabled


def test_a_service_user_may_touch_only_its_namespace_and_its_own_queues() -> None:
    """Payment of namespace a.b may use a.b's exchanges, its own queues and the dead letters, nothing of another
    service or namespace; on the events exchange it may publish only payment.* keys."""
    g = grant("a.b", "payment")
    for name in ("a.b.events", "a.b.commands", "a.b.replies", "a.b.dead-letter", "a.b.payment", "a.b.payment.x"):
        assert re.fullmatch(g.configure, name) and re.fullmatch(g.read, name), name
    for name in ("a.b.inventory", "a.bx.payment", "aXb.payment", "a.b.paymentx", "a.b.events.x", "other.payment"):
        assert not re.fullmatch(g.configure, name) and not re.fullmatch(g.write, name), name
    assert not re.fullmatch(g.read, "a.b.dead-letters")  # it may route dead letters there, not read them
    topics = {t.exchange: t.write for t in g.topics}
    assert re.match(topics["a.b.events"], "payment.PaymentCharged")
    assert not re.match(topics["a.b.events"], "inventory.StockReserved")
    assert not re.match(topics["a.b.commands"], "payment.ChargePayment")
    assert re.match({t.exchange: t.write for t in grant("a.b", "orchestrator").topics}["a.b.commands"], "x.Y")


def test_definitions_hold_rabbitmq_sha256_password_hashes() -> None:
    """A user's password_hash is base64(salt + sha256(salt + password)), as RabbitMQ's sha256 hashing expects."""
    salt = b"\x01\x02\x03\x04"
    assert base64.b64decode(password_hash("secret", salt)) == salt + hashlib.sha256(salt + b"secret").digest()
    doc = definitions("ns", {"payment": "pw", "inventory": "pw2"}, vhost="v")
    assert [u["name"] for u in doc["users"]] == ["ns.payment", "ns.inventory"]
    assert {p["vhost"] for p in doc["permissions"]} == {"v"} and len(doc["topic_permissions"]) == 6
    assert service_url("amqp://guest:guest@h:5672/v", "ns", "payment", "pw") == "amqp://ns.payment:pw@h:5672/v"


def test_an_attached_run_reads_from_the_trace_whether_services_had_their_own_users() -> None:
    """Attached to a running stack, the runner knows the check was on only if every service message in the trace
    came from its service's own user; one from a shared user (or none at all) says it was not."""
    from scenarios.trace import Trace
    from shared.transport.observed import Observed
    from shared.transport.topology import Topology

    def seen(type_name: str, user: str) -> Observed:
        return Observed("ns.events", f"x.{type_name}", type_name, "s", f"{type_name}-{user}", "o-1", None, {}, b"{}",
                        0.0, user_id=user)  # fmt: skip

    trace = Trace(Topology("ns"), [])
    assert not trace.from_own_users("ns")
    for type_name, user in (("PlaceOrder", "admin"), ("OrderPlaced", "ns.orders"), ("PaymentCharged", "ns.payment")):
        trace.observe(seen(type_name, user))
    assert trace.from_own_users("ns")
    trace.observe(seen("StockReserved", "admin"))
    assert not trace.from_own_users("ns")
