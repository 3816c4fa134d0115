"""create_myapp_admin <config_uri> --email EMAIL [--name NAME]: create an admin, or make a user one.

The password is read from the terminal, or from standard input with --password-stdin.
"""

import argparse
import getpass
import sys

from pyramid.paster import bootstrap, setup_logging
from sqlalchemy import select

from myapp.accounts import service
from myapp.accounts.schema import SignUp, check
from myapp.models import User, run_in_session
from myapp.validation import Invalid

from ..accounts.passwords import Passwords
from ..services import find


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", help="display name (default: the part of the email before @)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    return parser.parse_args(argv[1:])


def read_password(from_stdin):
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("the passwords differ")
    return first


def make_admin(passwords, email, name, password):
    async def unit(session):
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            user = await service.create_user(session, passwords, email, name, password, role="admin")
            return f"created admin {user.email}"
        user.role = "admin"
        await service.set_password(session, passwords, user, password)
        return f"{user.email} is now an admin"

    return unit


def main(argv=sys.argv):
    args = parse_args(argv)
    setup_logging(args.config_uri)
    password = read_password(args.password_stdin)
    try:
        admin = check(
            SignUp, email=args.email, display_name=args.name or args.email.split("@")[0] or "admin", password=password
        )
    except Invalid as exc:
        raise SystemExit("error: " + "; ".join(f"{name}: {problem}" for name, problem in exc.fields.items())) from None
    email, name = admin.email, admin.display_name
    with bootstrap(args.config_uri) as env:
        registry = env["registry"]
        try:
            print(run_in_session(registry, make_admin(find(registry, Passwords), email, name, password)))
        finally:
            registry.aio_runtime.shutdown()
