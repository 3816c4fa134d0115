"""Refuse answers that would make a project that cannot be imported or that hides another module."""

import keyword
import re
import sys

PACKAGE = "{{ cookiecutter.package_name }}"
REPO = "{{ cookiecutter.repo_name }}"
#: names a project must not take: what it imports, and what its tools import
TAKEN = {"pyramid", "waitress", "sqlalchemy", "alembic", "aiomysql", "aiosqlite", "pymysql", "jinja2",
         "webob", "webtest", "pytest", "cookiecutter", "setuptools", "pip", "aio", "tests", "test"}


def refuse(message):
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


if not re.fullmatch(r"[a-z_][a-z0-9_]*", PACKAGE) or keyword.iskeyword(PACKAGE):
    refuse(f"{PACKAGE!r} is not a valid package name: use lower-case letters, digits and underscores, "
           "not starting with a digit (answer package_name=...)")
if PACKAGE in sys.stdlib_module_names:
    refuse(f"{PACKAGE!r} is the name of a standard library module: the project would hide it "
           "(answer another package_name=...)")
if PACKAGE in TAKEN:
    refuse(f"{PACKAGE!r} is the name of a package the project depends on: choose another package_name")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", REPO):
    refuse(f"{REPO!r} is not a usable directory name: answer repo_name=... with letters, digits, '-', '_' or '.'")
