"""myapp_monitors: keep monitors in a file, under version control.

    myapp_monitors export monitors.yaml --url https://myapp.example.com --token KEY
    myapp_monitors apply monitors.yaml --dry-run --url ... --token ...
    myapp_monitors apply monitors.yaml --prune --url ... --token ...

The token may come from MYAPP_TOKEN instead (a command line is visible to other users of
the machine).  A file ending in .json is JSON; anything else is YAML; ``-`` is standard
input or output.  Exit status: 0 done, 1 refused by the server or unreachable, 2 bad usage.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ..text import counted

TIMEOUT = 600


class Failed(Exception):
    pass


def call(url, token, method="GET", body=None, content_type=None):
    """(status, headers, bytes) of one request to the API; Failed when it cannot be made."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise Failed(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


def refusal(status, body):
    """The server's error in lines for people: its message and each bad field."""
    try:
        error = json.loads(body)
    except ValueError:
        return f"the server answered {status}: {body[:200].decode('utf-8', 'replace')}"
    lines = [f"refused ({status}): {error.get('message', '')}"]
    lines += [f"  {where}: {problem}" for where, problem in (error.get("fields") or {}).items()]
    return "\n".join(lines)


def is_json(path):
    return path.lower().endswith(".json")


def export(args):
    query = urllib.parse.urlencode({"format": "json" if is_json(args.file) else "yaml"})
    status, _, body = call(f"{args.url}/api/export?{query}", args.token)
    if status != 200:
        raise Failed(refusal(status, body))
    if args.file == "-":
        sys.stdout.write(body.decode("utf-8"))
    else:
        with open(args.file, "wb") as out:
            out.write(body)
        counts = summary_of_export(body, is_json(args.file))
        print(f"wrote {args.file}: {counts}", file=sys.stderr)


def summary_of_export(body, as_json):
    import yaml

    document = json.loads(body) if as_json else yaml.safe_load(body)
    return ", ".join(
        counted(len(document.get(kind) or []), kind.replace("_", " "))
        for kind in ("monitors", "channels", "status_pages")
    )


def with_progress(work, label):
    """Run ``work()`` while a line on standard error says how long it has taken (on a terminal)."""
    result, error = [], []

    def run():
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 (handed back to the caller below)
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    shown = sys.stderr.isatty()
    while thread.is_alive():
        thread.join(0.25)
        if shown:
            print(f"\r{label}… {time.monotonic() - started:.1f} s", end="", file=sys.stderr, flush=True)
    print(
        f"\r{label}: {time.monotonic() - started:.1f} s" if shown else f"{label}: {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    if error:
        raise error[0]
    return result[0]


def show(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def print_plan(plan):
    for kind in ("channels", "monitors", "status_pages"):
        part = plan[kind]
        print(
            f"{kind.replace('_', ' ')}: {len(part['create'])} to create, {len(part['update'])} to update, "
            f"{len(part['delete'])} to delete, {part['unchanged']} unchanged"
        )
        for name in part["create"]:
            print(f"  + {name}")
        for update in part["update"]:
            changes = "; ".join(
                f"{field} {show(change['from'])} -> {show(change['to'])}" for field, change in update["changes"].items()
            )
            print(f"  ~ {update['name']}: {changes}")
        for name in part["delete"]:
            print(f"  - {name}")


def apply(args):
    if args.file == "-":
        body = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as source:
            body = source.read()
    query = urllib.parse.urlencode({"dry_run": str(args.dry_run).lower(), "prune": str(args.prune).lower()})
    kind = "application/json" if is_json(args.file) else "application/yaml"
    label = f"{'planning' if args.dry_run else 'applying'} {args.file} ({len(body) / 1024:.0f} KiB)"
    status, _, answer = with_progress(
        lambda: call(f"{args.url}/api/apply?{query}", args.token, "POST", body, kind), label
    )
    if status != 200:
        raise Failed(refusal(status, answer))
    plan = json.loads(answer)
    print_plan(plan)
    if plan["dry_run"]:
        print("dry run: nothing was changed")
    else:
        print("applied" if plan["applied"] else "nothing to change")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="myapp_monitors", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("export", "apply"))
    parser.add_argument("file", help="the manifest (.yaml, .yml or .json); - for standard input or output")
    parser.add_argument("--url", default=os.environ.get("MYAPP_URL"), help="the server (or MYAPP_URL)")
    parser.add_argument("--token", default=os.environ.get("MYAPP_TOKEN"), help="an API key (or MYAPP_TOKEN)")
    parser.add_argument("--dry-run", action="store_true", help="apply: only show what would change")
    parser.add_argument("--prune", action="store_true", help="apply: delete what the file does not name")
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("give --url and --token (or set MYAPP_URL and MYAPP_TOKEN)")
    if args.command == "export" and (args.dry_run or args.prune):
        parser.error("--dry-run and --prune are for apply")
    args.url = args.url.rstrip("/")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        (export if args.command == "export" else apply)(args)
    except Failed as exc:
        print(f"myapp_monitors: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"myapp_monitors: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
