"""The peer engine's "rpcmessage" task workers for the checkout saga, all in one process (runs in the
peer's own venv, with pika; copied from /work/shared/peer-bench/workers.py, with queue names prefixed).

The engine dispatches a Task whose Resource is ``arn:aws:rpcmessage:local::function:<Name>`` by publishing
the Task's input to the default exchange with routing key ``<Name>``, ``reply_to`` its private reply
queue and a ``correlation_id``. A worker consumes queue ``<Name>`` and replies to ``reply_to`` with the
same ``correlation_id``; a reply ``{"errorType": ..., "errorMessage": ...}`` is a Task failure of that name.

ReserveStock fails with ``OutOfStock`` when the input has ``"sku": "out"``; everything else succeeds at once.
Env: AMQP_URL, WORKER_PREFIX (prepended to each function's queue name), WORKER_PREFETCH (default 200).
"""

import json
import os
import signal
import sys

import pika

FUNCTIONS = ["ChargePayment", "ReserveStock", "ScheduleShipment", "ReleaseStock", "RefundPayment"]


def main() -> int:
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    prefix = os.environ.get("WORKER_PREFIX", "")
    prefetch = int(os.environ.get("WORKER_PREFETCH", "200"))
    counts = dict.fromkeys(FUNCTIONS, 0)

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)

    def make_handler(fn):  # type: ignore[no-untyped-def]
        def handler(channel, method, props, body):  # type: ignore[no-untyped-def]
            counts[fn] += 1
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            if fn == "ReserveStock" and isinstance(data, dict) and data.get("sku") == "out":
                reply = {"errorType": "OutOfStock", "errorMessage": "sku is out of stock"}
            else:
                reply = {"ok": True, "fn": fn}
            if props.reply_to:
                channel.basic_publish(
                    exchange="", routing_key=props.reply_to, body=json.dumps(reply),
                    properties=pika.BasicProperties(correlation_id=props.correlation_id,
                                                    content_type="application/json"),
                )  # fmt: skip
            channel.basic_ack(delivery_tag=method.delivery_tag)

        return handler

    for fn in FUNCTIONS:
        # auto-delete, as upstream's example workers: the queue goes when this process disconnects
        ch.queue_declare(queue=prefix + fn, durable=False, auto_delete=True)
        ch.basic_consume(queue=prefix + fn, on_message_callback=make_handler(fn))

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        ch.stop_consuming()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("workers ready: %s" % ", ".join(prefix + f for f in FUNCTIONS), flush=True)
    try:
        ch.start_consuming()
    finally:
        print("workers stopping, invocations: %s" % json.dumps(counts), flush=True)
        try:
            conn.close()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
