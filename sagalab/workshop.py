"""``sagalab workshop``: a class on one broker, each participant in a vhost of their own.

``provision`` (``command`` is `sagalab workshop` itself) creates, through RabbitMQ's management API and with an administrator's credentials, one vhost
and one user per participant (``<name>-01``, ``<name>-02``, ...), the user allowed everything on its own
vhost and nothing elsewhere, and prints the sheet of connection lines to hand out. ``teardown`` deletes
exactly what ``provision`` made: the vhosts and users of that name that carry the ``sagalab-workshop`` tag
(deleting a vhost deletes every queue and exchange in it).

Re-running ``provision`` is safe: a participant who exists keeps their password (the sheet says so, and
the earlier sheet still holds it); ``--reset-passwords`` gives everyone a new one. A user or vhost of the
same name that ``provision`` did not make is refused, never taken over.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from yarl import URL

from sagalab.exits import EXIT_OK, UsageError

TAG = "sagalab-workshop"
"""Marks the users and vhosts ``provision`` made, so ``teardown`` removes those and nothing else."""

USER_TAGS = ("management", TAG)
"""``management`` lets a participant log into the management UI, where they see their own vhost only."""

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,40}")
MAX_PARTICIPANTS = 999


class ManagementUnreachable(Exception):
    """No management API answers at the URL given (exit status 3)."""


@dataclass(frozen=True)
class Management:
    """RabbitMQ's management HTTP API, logged in as one user."""

    base: str
    user: str
    authorization: str

    @classmethod
    def of(cls, management_url: str, amqp_url: str) -> Management:
        amqp = URL(amqp_url)
        user, password = amqp.user or "guest", amqp.password or "guest"
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        return cls(management_url.rstrip("/") + "/api", user, f"Basic {auth}")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers={
            "Authorization": self.authorization, "Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                raise UsageError(f"the management API at {self.base} refused user {self.user!r} (wrong password, or "
                                 "not a management user): pass an administrator's credentials in --amqp-url") from None  # fmt: skip
            raise UsageError(f"the management API answered {exc.code} to {method} {path}: "
                             f"{exc.read().decode(errors='replace')[:300]}") from None  # fmt: skip
        except (urllib.error.URLError, OSError) as exc:
            raise ManagementUnreachable(
                f"no management API at {self.base} ({getattr(exc, 'reason', exc)}); enable it on the broker "
                "(rabbitmq-plugins enable rabbitmq_management) or pass --management-url"
            ) from None
        return json.loads(text) if text else None

    def require_administrator(self) -> None:
        me = self.call("GET", "/whoami")
        if "administrator" not in _tags(me):
            raise UsageError(f"broker user {self.user!r} is not an administrator (tags: {', '.join(_tags(me)) or 'none'}); "
                             "provisioning a workshop creates vhosts and users, which needs one")  # fmt: skip

    def users(self) -> dict[str, list[str]]:
        return {u["name"]: _tags(u) for u in self.call("GET", "/users")}

    def vhosts(self) -> dict[str, list[str]]:
        return {v["name"]: _tags(v) for v in self.call("GET", "/vhosts")}


def _tags(row: dict[str, Any]) -> list[str]:
    """A user's or vhost's tags: a list in RabbitMQ 3.9+, a comma-separated string before."""
    tags = row.get("tags") or row.get("metadata", {}).get("tags") or []
    return [t for t in (tags.split(",") if isinstance(tags, str) else tags) if t]


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def seat_names(name: str, participants: int) -> list[str]:
    width = max(2, len(str(participants)))
    return [f"{name}-{i:0{width}d}" for i in range(1, participants + 1)]


def check(name: str, participants: int | None = None) -> None:
    """Refuse a workshop name or a head count that cannot work (exit status 2)."""
    if not NAME.fullmatch(name):
        raise UsageError(f"--name {name!r}: a letter, then up to 40 letters, digits, '_' or '-'")
    if participants is not None and not 1 <= participants <= MAX_PARTICIPANTS:
        raise UsageError(f"--participants must be between 1 and {MAX_PARTICIPANTS}")


@dataclass(frozen=True)
class Seat:
    """One participant: vhost and user share the name; password is None when an existing one was kept."""

    name: str
    password: str | None
    action: str

    def amqp_url(self, host: str, port: int) -> str:
        password = self.password or "<password from the first sheet>"
        return f"amqp://{self.name}:{password}@{host}:{port}/{_quote(self.name)}"


_SHEET_URL = re.compile(r"amqp://([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)@")


def earlier_passwords(sheet_text: str) -> dict[str, str]:
    """Each participant's password on an earlier sheet (CSV or Markdown), read from its AMQP URL."""
    return dict(_SHEET_URL.findall(sheet_text))


def provision(api: Management, name: str, participants: int, reset_passwords: bool = False,
              known: dict[str, str] | None = None) -> list[Seat]:  # fmt: skip
    """Create each participant's vhost and user (permissions on that vhost only); returns the seats. A user
    who exists keeps their password, which ``known`` (an earlier sheet's) may supply for the new sheet."""
    check(name, participants)
    api.require_administrator()
    users, vhosts = api.users(), api.vhosts()
    names = seat_names(name, participants)
    taken = [f"user {n}" for n in names if n in users and TAG not in users[n]]
    taken += [f"vhost {n}" for n in names if n in vhosts and TAG not in vhosts[n]]
    if taken:
        raise UsageError(f"{', '.join(taken)} already exist(s) and sagalab did not make them; choose another --name")
    seats = []
    for seat in names:
        api.call("PUT", f"/vhosts/{_quote(seat)}", {"description": f"sagalab workshop {name}", "tags": TAG})
        if seat in users and not reset_passwords:
            kept = (known or {}).get(seat)
            seats.append(Seat(seat, kept, "kept" + (" (password from the earlier sheet)" if kept else "")))
        else:
            password = secrets.token_urlsafe(12)
            api.call("PUT", f"/users/{_quote(seat)}", {"password": password, "tags": ",".join(USER_TAGS)})
            seats.append(Seat(seat, password, "new password" if seat in users else "created"))
        api.call("PUT", f"/permissions/{_quote(seat)}/{_quote(seat)}", {"configure": ".*", "write": ".*", "read": ".*"})
    return seats


@dataclass(frozen=True)
class Removed:
    vhosts: list[str]
    users: list[str]


def teardown(api: Management, name: str) -> Removed:
    """Delete the workshop's vhosts (and with them every queue and exchange in them) and users."""
    check(name)
    api.require_administrator()
    ours = re.compile(rf"{re.escape(name)}-[0-9]+")
    vhosts = sorted(v for v, tags in api.vhosts().items() if ours.fullmatch(v) and TAG in tags)
    users = sorted(u for u, tags in api.users().items() if ours.fullmatch(u) and TAG in tags)
    for vhost in vhosts:
        api.call("DELETE", f"/vhosts/{_quote(vhost)}")
    for user in users:
        api.call("DELETE", f"/users/{_quote(user)}")
    return Removed(vhosts, users)


def sheet_rows(seats: list[Seat], host: str, port: int, management_url: str) -> list[dict[str, str]]:
    return [{"participant": s.name, "vhost": s.name, "user": s.name, "password": s.password or "(unchanged)",
             "amqp_url": s.amqp_url(host, port), "management_ui": management_url, "status": s.action}
            for s in seats]  # fmt: skip


def sheet(rows: list[dict[str, str]], path: Path) -> str:
    """The hand-out: CSV (one row per participant) or Markdown (a block of lines to paste per participant)."""
    if path.suffix == ".csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if path.suffix == ".md":
        parts = ["# sagalab workshop: your seat on the broker\n",
                 "Paste your two lines into the terminal where you run sagalab. In the management UI, log in with "
                 "your user and password: you see your vhost only.\n"]  # fmt: skip
        for r in rows:
            parts.append(f"## {r['participant']}\n\n```sh\nexport AMQP_URL={r['amqp_url']}\n"
                         f"export SAGALAB_NAMESPACE={r['participant']}\n```\n\nmanagement UI: {r['management_ui']} "
                         f"(user `{r['user']}`, password `{r['password']}`)\n")  # fmt: skip
        return "\n".join(parts)
    raise UsageError(f"--out {path}: write a .csv or a .md file")


def command(args: argparse.Namespace, console: Console) -> int:
    """``sagalab workshop provision|teardown``: one vhost and user per participant, through the management API."""
    check(args.name)
    amqp = URL(args.amqp_url)
    management_url = args.management_url or f"http://{amqp.host}:15672"
    api = Management.of(management_url, args.amqp_url)
    if args.action == "teardown":
        removed = teardown(api, args.name)
        for vhost in removed.vhosts:
            console.print(f"deleted vhost {vhost} (and every queue and exchange in it)", highlight=False)
        for user in removed.users:
            console.print(f"deleted user {user}", highlight=False)
        console.print(f"workshop {args.name}: deleted {len(removed.vhosts)} vhost(s) and {len(removed.users)} user(s)",
                      highlight=False)  # fmt: skip
        return EXIT_OK
    if args.out is not None and args.out.suffix not in (".csv", ".md"):
        raise UsageError(f"--out {args.out}: write a .csv or a .md file")
    known = earlier_passwords(args.out.read_text()) if args.out and args.out.is_file() else {}
    seats = provision(api, args.name, args.participants, args.reset_passwords, known)
    host = args.host or amqp.host or "127.0.0.1"
    shown_ui = str(URL(management_url).with_host(host)) if args.host else management_url
    rows = sheet_rows(seats, host, amqp.port or 5672, shown_ui)
    table = Table(title=f"sagalab workshop {args.name}: {len(seats)} participant(s)", header_style="bold")
    for column in ("participant (vhost and user)", "password", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["participant"], row["password"], row["status"])
    console.print(table, highlight=False, markup=False)
    console.print(f"Each user may use their own vhost only. Management UI: {shown_ui} (participants log in with "
                  f"their user and see their vhost). `sagalab workshop teardown --name {args.name}` removes them "
                  "all. Lines to paste, per participant:", highlight=False, soft_wrap=True)  # fmt: skip
    for row in rows:
        console.print(f"# {row['participant']}\nexport AMQP_URL={row['amqp_url']}\n"
                      f"export SAGALAB_NAMESPACE={row['participant']}", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    if args.out is not None:
        args.out.write_text(sheet(rows, args.out))
        console.print(f"sheet: {args.out.resolve()}", highlight=False, soft_wrap=True)
    return EXIT_OK
