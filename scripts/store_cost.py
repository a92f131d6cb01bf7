"""What one delivery's transaction costs in each store: CPU of this process and of the PostgreSQL server per
transaction shaped like a payment's (inbox, business key, effect, outbox; then the sent mark), SQLite file against
PostgreSQL schema. ``.venv/bin/python scripts/store_cost.py [N] [POSTGRES_URL]``; drops its schemas afterwards."""

import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sagalab.bench.cpu import postgres_cpu
from shared.domain.services.payment import Charge
from shared.stores.business import PAYMENT_SCHEMA, SqlitePaymentLedger
from shared.stores.location import pin
from shared.stores.postgres import drop_namespace
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
URL = sys.argv[2] if len(sys.argv) > 2 else "postgresql://postgres@127.0.0.1:5432/postgres"

def one(db, i):
    with db.transaction() as c:
        mid = f"m-{i}"
        Database.remember(c, "payment", mid, "d")
        Database.claim_step(c, "payment", f"o-{i}", "charge", mid)
        led = SqlitePaymentLedger(c)
        led.charge_for(f"o-{i}")
        led.record_charge(f"o-{i}", Charge(f"p-{i}", 4999))
        seqs = Database.stage(c, mid, [Outgoing(exchange="x", routing_key="k", type="PaymentCharged", message_id=f"e-{i}",
                                                correlation_id=f"o-{i}", body=b"{}" * 100, reply_to=None, headers={})])
    db.mark_sent(seqs)

for store in ("sqlite", "postgresql"):
    d = Path(tempfile.mkdtemp()) / "data"
    if store == "postgresql":
        pin(d, URL, "h-pg-cost", f"h-pg-cost:{uuid.uuid4().hex[:6]}")
    db = Database(d / "payment.db", PAYMENT_SCHEMA)
    for i in range(100):  # warm: PostgreSQL prepares a statement on its fifth use
        one(db, -i - 1)
    pg0, cpu0, t0 = postgres_cpu(), time.process_time(), time.perf_counter()
    for i in range(N):
        one(db, i)
    pg1, cpu1, t1 = postgres_cpu(), time.process_time(), time.perf_counter()
    db.close()
    pg = (pg1 - pg0) * 1000 / N if store == "postgresql" else 0.0
    print(f"{store:10} python {1000*(cpu1-cpu0)/N:.3f} ms/tx  postgres server {pg:.3f} ms/tx  wall {1000*(t1-t0)/N:.3f} ms/tx")
drop_namespace(URL, "h-pg-cost")
