"""``villagegrid keys``: make, list and revoke API keys in the service's database."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.commands import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="make, list and revoke API keys")
    p.add_argument("--database-url", help="default: VILLAGEGRID_DATABASE_URL or the SQLite file")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key and print its token once")
    create.add_argument("--role", required=True, choices=("admin", "manager", "controller"))
    create.add_argument("--site", help="the one site a controller key serves")
    create.add_argument("--label", default="", help="a note, e.g. who holds the key")
    actions.add_parser("list", help="list keys (never their tokens)")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    link = actions.add_parser(
        "link", help="make a short-lived, single-use login link to the web pages for a key")
    link.add_argument("key_id", help="the key whose role and site the login gets")
    link.add_argument("--minutes", type=float, default=15.0, help="how long it works [15]")
    link.add_argument("--base-url", default="http://127.0.0.1:8000",
                      help="where the service is reached [http://127.0.0.1:8000]")
    p.set_defaults(func=run)


def open_store(store_class: Any, url: str) -> Any:
    """The database at ``url``; a URL that names no known database, a refused connection or
    an unwritable SQLite file is bad input, named with the URL (its password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise CommandError(f"--database-url: not a database URL, got {url!r}") from None
    try:
        return store_class(url)
    except NoSuchModuleError:
        raise CommandError(f"--database-url: unknown database kind in {shown!r}; expected "
                           "sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DB") from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CommandError(f"--database-url: cannot open {shown!r}: {reason}") from None


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from api.services.errors import Invalid, NotFound
    from api.services.keys import KeyRing, create_key, list_keys
    from api.settings import Settings
    from api.store import Store
    from api.web.auth import make_login_link

    overrides = {"database_url": args.database_url} if args.database_url else {}
    store = open_store(Store, Settings(**overrides).database_url)
    now = datetime.now(UTC)
    try:
        if args.action == "create":
            row, token = create_key(store, args.role, args.site, now, args.label)
            print(f"key {row.key_id} ({row.role}{', site ' + row.site if row.site else ''})",
                  file=sys.stderr)
            print("the token is shown once; store it now:", file=sys.stderr)
            print(token)
        elif args.action == "list":
            for row in list_keys(store):
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(f"{row.key_id}\t{row.role}\t{row.site or '-'}\t{state}\t{row.label}")
        elif args.action == "link":
            token = make_login_link(store, args.key_id, now, args.minutes)
            print(f"works once, for {args.minutes:g} min:", file=sys.stderr)
            print(f"{args.base_url.rstrip('/')}/login?token={token}")
        else:
            row = KeyRing(store, 0).revoke(args.key_id, now)
            print(f"revoked {row.key_id}")
    except (Invalid, NotFound) as exc:
        raise CommandError("; ".join(exc.errors or [exc.message])) from None
    finally:
        store.dispose()
    return 0
