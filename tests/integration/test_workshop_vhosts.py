"""``sagalab workshop provision/teardown`` against the real broker: each participant gets a vhost of their own,
cannot log into anyone else's, runs a comparison in their own, and teardown removes exactly what provision made.

Needs the management API next to the broker (``rabbitmq-plugins enable rabbitmq_management``): the workshop
commands create vhosts and users through it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from yarl import URL

pytestmark = pytest.mark.broker

HOW_TO_GET_MANAGEMENT = ("The workshop tests need RabbitMQ's management API on port 15672: "
                         "`rabbitmq-plugins enable rabbitmq_management` on the broker.")  # fmt: skip


def sagalab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def teardown(name: str, amqp_url: str) -> None:
    """``sagalab workshop teardown``, which must succeed: a failed one leaves vhosts and users behind."""
    gone = sagalab("workshop", "teardown", "--name", name, "--amqp-url", amqp_url)
    assert gone.returncode == 0, f"workshop {name} left on the broker: {gone.stdout}{gone.stderr}"


def management(amqp_url: str, method: str, path: str, body: dict[str, object] | None = None) -> object:
    url = URL(amqp_url)
    auth = b64encode(f"{url.user or 'guest'}:{url.password or 'guest'}".encode()).decode()
    request = urllib.request.Request(f"http://{url.host}:15672/api{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


@pytest.fixture
def workshop(amqp_url: str) -> Iterator[str]:
    """A fresh workshop name; its vhosts and users are removed afterwards, whatever the test did."""
    try:
        management(amqp_url, "GET", "/whoami")
    except (urllib.error.URLError, OSError):
        pytest.fail(HOW_TO_GET_MANAGEMENT, pytrace=False)
    name = f"tw{uuid.uuid4().hex[:8]}"
    yield name
    sagalab("workshop", "teardown", "--name", name, "--amqp-url", amqp_url)
    for kind in ("vhosts", "users"):  # anything teardown missed, and the decoy the test made
        for row in management(amqp_url, "GET", f"/{kind}"):  # type: ignore[union-attr]
            if str(row["name"]).startswith(f"{name}-"):
                management(amqp_url, "DELETE", f"/{kind}/{row['name']}")


def read_sheet(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {row["participant"]: row for row in csv.DictReader(f)}


async def login(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=10)
    await connection.close()


def test_participants_are_walled_off_in_their_own_vhosts(amqp_url: str, workshop: str, tmp_path: Path) -> None:
    """A and B each get a vhost and user; A's password opens A's vhost and is refused on B's (by aio-pika and,
    with a message naming user and vhost, by sagalab: exit 2); A runs `compare out-of-stock` in its own vhost and
    may not create per-service users; re-provisioning keeps passwords; teardown removes A and B and not a
    look-alike user it did not make."""
    sheet = tmp_path / "sheet.csv"
    made = sagalab("workshop", "provision", "--participants", "2", "--name", workshop, "--out", str(sheet),
                   "--amqp-url", amqp_url)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    seats = read_sheet(sheet)
    a, b = seats[f"{workshop}-01"], seats[f"{workshop}-02"]
    assert f"export AMQP_URL={a['amqp_url']}" in made.stdout
    assert URL(a["amqp_url"]).path == f"/{workshop}-01" and a["password"] != b["password"]
    permissions = management(amqp_url, "GET", f"/users/{workshop}-01/permissions")
    assert [p["vhost"] for p in permissions] == [f"{workshop}-01"]  # type: ignore[index, union-attr]

    asyncio.run(login(a["amqp_url"]))
    a_on_b = str(URL(a["amqp_url"]).with_path(f"/{workshop}-02"))
    with pytest.raises(aio_pika.exceptions.AMQPError):
        asyncio.run(login(a_on_b))
    refused = sagalab("run", "happy-path", "--mode", "choreography", "--amqp-url", a_on_b, "--namespace", "a",
                      "--out", str(tmp_path / "refused"))  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"refused user '{workshop}-01' on vhost '{workshop}-02'" in refused.stdout.replace("\n", "")

    ran = sagalab("compare", "out-of-stock", "--amqp-url", a["amqp_url"], "--namespace", "ns", "--out", str(tmp_path / "a"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "consistency" in ran.stdout and "violated" not in ran.stdout
    queues = management(amqp_url, "GET", f"/queues/{workshop}-01?columns=name")
    assert "ns.payment" in {q["name"] for q in queues}  # type: ignore[union-attr]
    own_users = sagalab("users", "--amqp-url", a["amqp_url"], "--namespace", "ns")
    assert own_users.returncode == 2 and "is not an administrator" in own_users.stdout.replace("\n", ""), own_users.stdout

    again = sagalab("workshop", "provision", "--participants", "2", "--name", workshop, "--out", str(sheet),
                    "--amqp-url", amqp_url)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert read_sheet(sheet)[f"{workshop}-01"]["password"] == a["password"]
    asyncio.run(login(a["amqp_url"]))

    management(amqp_url, "PUT", f"/users/{workshop}-99", {"password": "x", "tags": ""})  # not provision's
    gone = sagalab("workshop", "teardown", "--name", workshop, "--amqp-url", amqp_url)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "deleted 2 vhost(s) and 2 user(s)" in gone.stdout
    users = {u["name"] for u in management(amqp_url, "GET", "/users")}  # type: ignore[union-attr]
    vhosts = {v["name"] for v in management(amqp_url, "GET", "/vhosts")}  # type: ignore[union-attr]
    assert f"{workshop}-99" in users and not {f"{workshop}-01", f"{workshop}-02"} & (users | vhosts)
