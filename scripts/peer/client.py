"""The closed-loop client for the peer engine (runs in the peer's own venv, with pika; adapted from
/work/shared/peer-bench/bench.py to drive the same loop as ``sagalab bench``).

``drive``: register the checkout state machine over the engine's REST API, keep C executions in flight
(each terminal notification starts the next) until every one of N orders has ended, and write JSON:
when each order was placed and when it ended (epoch seconds), its expected and actual status, errors.
Orders whose index is listed in the --failing file carry ``"sku": "out"`` (ReserveStock fails, the saga
refunds and ends FAILED). Executions start by publishing the StartExecution event to the engine's shared
queue, as the engine's own REST handler does.

``ready``: wait until the engine and the workers consume and the state machine is registered.
``cleanup``: delete the engine's event queues and its notification exchange.
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

import pika

ACCOUNT = "0123456789"
ROLE_ARN = "arn:aws:iam::%s:role/service-role/SagalabPeer" % ACCOUNT
FUNCTIONS = ["ChargePayment", "ReserveStock", "ScheduleShipment", "ReleaseStock", "RefundPayment"]
STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def sfn_call(rest, action, params, timeout=10):  # type: ignore[no-untyped-def]
    u = urllib.parse.urlparse(rest)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.request("POST", "/", body=json.dumps(params), headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions." + action})  # fmt: skip
        r = conn.getresponse()
        body = r.read()
        try:
            return r.status, json.loads(body or b"null")
        except ValueError:
            return r.status, body.decode("utf8", "replace")
    finally:
        conn.close()


def ensure_state_machine(rest, name, definition):  # type: ignore[no-untyped-def]
    deadline = time.time() + 60
    while True:
        try:
            status, body = sfn_call(rest, "CreateStateMachine", {"name": name, "definition": definition,
                                                                  "roleArn": ROLE_ARN})  # fmt: skip
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)  # the engine's REST thread is still starting
    if status == 200:
        return body["stateMachineArn"]
    if "StateMachineAlreadyExists" in str(body):
        arn = "arn:aws:states:local:%s:stateMachine:%s" % (ACCOUNT, name)
        sfn_call(rest, "UpdateStateMachine", {"stateMachineArn": arn, "definition": definition})
        return arn
    raise RuntimeError("CreateStateMachine failed: %s %s" % (status, body))


def wait_consumers(conn, queues, timeout=60):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while True:
        missing = []
        for q in queues:
            try:
                tmp = conn.channel()
                if tmp.queue_declare(queue=q, passive=True).method.consumer_count < 1:
                    missing.append(q)
                tmp.close()
            except pika.exceptions.ChannelClosedByBroker:
                missing.append(q)
        if not missing:
            return
        if time.time() > deadline:
            raise RuntimeError("not ready, no consumer on: %s" % missing)
        time.sleep(0.2)


def ready(a):  # type: ignore[no-untyped-def]
    """Wait until the engine and the workers consume and the engine's REST API answers."""
    conn = pika.BlockingConnection(pika.URLParameters(a.amqp_url))
    try:
        wait_consumers(conn, [a.queue, a.queue + "-" + a.instance_id] + [a.prefix + f for f in FUNCTIONS])
    finally:
        conn.close()
    with open(a.definition) as f:
        ensure_state_machine(a.rest, a.sm_name, f.read())
    return 0


def drive(a):  # type: ignore[no-untyped-def]
    with open(a.failing) as f:
        failing = set(json.load(f))
    with open(a.definition) as f:
        definition = f.read()
    conn = pika.BlockingConnection(pika.URLParameters(a.amqp_url))
    ch = conn.channel()
    wait_consumers(conn, [a.queue, a.queue + "-" + a.instance_id] + [a.prefix + f for f in FUNCTIONS])
    sm_arn = ensure_state_machine(a.rest, a.sm_name, definition)
    nq = ch.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
    for status in STATUSES:
        ch.queue_bind(queue=nq, exchange=a.exchange, routing_key="%s.%s" % (sm_arn, status))

    started = 0
    in_flight = {}  # execution name -> order index
    placed, settled, expected, actual = {}, {}, {}, {}
    errors = []

    def start_one():  # type: ignore[no-untyped-def]
        nonlocal started
        idx = started
        started += 1
        out = idx in failing
        name = str(uuid.uuid4())
        data = {"order_id": "o-%d" % idx, "sku": "out" if out else "sku-1", "qty": 1, "amount": 42}
        expected[idx] = "FAILED" if out else "SUCCEEDED"
        in_flight[name] = idx
        now = datetime.now(timezone.utc).astimezone().isoformat()
        exec_arn = "arn:aws:states:local:%s:execution:%s:%s" % (ACCOUNT, a.sm_name, name)
        event = {"data": data, "context": {
            "Execution": {"Id": exec_arn, "Input": data, "Name": name, "RoleArn": ROLE_ARN, "StartTime": now},
            "State": {"EnteredTime": now, "Name": ""}, "StateMachine": {"Id": sm_arn, "Name": a.sm_name}}}  # fmt: skip
        placed[idx] = time.time()
        ch.basic_publish(exchange="", routing_key=a.queue, body=json.dumps(event),
                         properties=pika.BasicProperties(content_type="application/json", delivery_mode=2))  # fmt: skip

    def on_notification(channel, method, props, body):  # type: ignore[no-untyped-def]
        at = time.time()
        channel.basic_ack(method.delivery_tag)
        try:
            detail = json.loads(body)["detail"]
        except (ValueError, KeyError):
            return
        idx = in_flight.pop(detail.get("name"), None)
        if idx is None:
            return  # not ours
        settled[idx] = at
        actual[idx] = detail.get("status")
        if started < a.orders:
            start_one()

    ch.basic_qos(prefetch_count=1000)
    ch.basic_consume(queue=nq, on_message_callback=on_notification)
    begin = time.monotonic()
    for _ in range(min(a.concurrency, a.orders)):
        start_one()
    shown = time.monotonic()
    while in_flight:
        conn.process_data_events(time_limit=0.2)
        if time.monotonic() - shown > 0.25:
            shown = time.monotonic()
            print("settled %d" % len(settled), flush=True)
        if time.monotonic() - begin > a.timeout:
            errors.append("deadline with %d executions in flight" % len(in_flight))
            break
    conn.close()
    print("settled %d" % len(settled), flush=True)
    wrong = sum(1 for i in settled if actual[i] != expected[i])
    res = {"orders": a.orders, "started": started, "placed_at": placed, "settled_at": settled,
           "succeeded": sum(1 for s in actual.values() if s == "SUCCEEDED"),
           "failed": sum(1 for s in actual.values() if s == "FAILED"), "wrong_outcome": wrong, "errors": errors}  # fmt: skip
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0 if not errors and not wrong and len(settled) == a.orders else 1


def cleanup(a):  # type: ignore[no-untyped-def]
    conn = pika.BlockingConnection(pika.URLParameters(a.amqp_url))
    try:
        for q in (a.queue, a.queue + "-" + a.instance_id, *[a.prefix + f for f in FUNCTIONS]):
            ch = conn.channel()
            try:
                ch.queue_delete(q)
                ch.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass
        ch = conn.channel()
        try:
            ch.exchange_delete(a.exchange)
        except pika.exceptions.ChannelClosedByBroker:
            pass
    finally:
        conn.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["ready", "drive", "cleanup"])
    ap.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    ap.add_argument("--queue", required=True, help="the engine's shared event queue")
    ap.add_argument("--instance-id", required=True)
    ap.add_argument("--exchange", required=True, help="the engine's notification exchange")
    ap.add_argument("--prefix", default="", help="the workers' queue prefix")
    ap.add_argument("--rest", default="http://127.0.0.1:4584")
    ap.add_argument("--definition", default="")
    ap.add_argument("--sm-name", default="checkout")
    ap.add_argument("--orders", type=int, default=0)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--failing", default="", help="JSON file: the indexes of the orders that go out of stock")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    try:
        return {"ready": ready, "drive": drive, "cleanup": cleanup}[a.command](a)
    except Exception as exc:  # exit 1 means a drive that ended badly; a broken peer says why and exits 2
        print("%s: %s" % (type(exc).__name__, exc), flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
