"""Monitors as code: export, edit, plan, apply, round trip; by the API and by myapp_monitors against a
real server; refusals that change nothing."""

import json
import subprocess

import pytest
import yaml

from myapp.monitors import MonitorSettings
from myapp.services import find

HOOK_SECRET = "0123456789abcdef-secret"

MANIFEST = {
    "version": 1,
    "channels": [
        {"name": "ops", "kind": "webhook", "target": "http://127.0.0.1:9/hook", "secret": HOOK_SECRET},
        {"name": "mail", "kind": "email", "target": "oncall@example.com"},
    ],
    "monitors": [
        {
            "name": "api",
            "url": "http://127.0.0.1:9/health",
            "interval": 30,
            "channels": ["ops", "mail"],
            "headers": {"X-Probe": "1"},
            "tags": ["prod", "api"],
        },
        {"name": "web", "url": "http://127.0.0.1:9/", "method": "HEAD", "keyword_absent": "error"},
        {"name": "old", "url": "http://127.0.0.1:9/old", "paused": True},
        {"name": "db", "kind": "tcp", "host": "db.example.com", "port": 5432, "tls": True},
        {"name": "mx", "kind": "dns", "host": "example.com", "record_type": "MX", "expected": ["mx.example.com"]},
        {
            "name": "backup",
            "kind": "heartbeat",
            "interval": 86400,
            "grace": 3600,
            "cron": "0 3 * * *",
            "timezone": "Europe/Paris",
        },
    ],
    "status_pages": [{"title": "Acme", "slug": "acme-status", "monitors": ["web", "api"]}],
}


@pytest.fixture
def api(testapp, make_user, make_key):
    token = make_key(make_user("ops@example.com"), "write")[1]
    headers = {"Authorization": f"Bearer {token}"}

    class Api:
        def export(self, fmt="yaml"):
            res = testapp.get(f"/api/export?format={fmt}", headers=headers)
            return yaml.safe_load(res.text) if fmt == "yaml" else res.json

        def apply(self, document, status=200, as_yaml=True, **query):
            body = yaml.safe_dump(document) if as_yaml else json.dumps(document)
            kind = "application/yaml" if as_yaml else "application/json"
            path = "/api/apply?" + "&".join(f"{k}={str(v).lower()}" for k, v in query.items())
            return testapp.post(path, body, headers={**headers, "Content-Type": kind}, status=status).json

        def get(self, path):
            return testapp.get(path, headers=headers).json

    result = Api()
    result.token = token
    return result


def test_apply_then_export_round_trips_without_ids_secrets_or_defaults(api):
    plan = api.apply(MANIFEST)
    assert plan["applied"] and plan["monitors"]["create"] == ["api", "web", "old", "db", "mx", "backup"]
    exported = api.export()
    assert "secret" not in json.dumps(exported) and '"id"' not in json.dumps(exported)
    expected = json.loads(json.dumps(MANIFEST))
    del expected["channels"][0]["secret"]
    expected["channels"].sort(key=lambda c: c["name"])
    expected["monitors"].sort(key=lambda m: m["name"])
    expected["monitors"][0]["channels"] = ["mail", "ops"]  # sorted: order carries no meaning
    assert exported == expected
    assert api.export("json") == exported
    again = api.apply(exported)  # an export applies as no change at all
    assert not again["applied"]
    assert {kind: again[kind]["unchanged"] for kind in ("channels", "monitors", "status_pages")} == {
        "channels": 2,
        "monitors": 6,
        "status_pages": 1,
    }
    channels = {c["name"]: c for c in api.get("/api/channels")["channels"]}
    assert channels["ops"]["has_secret"]  # not exported, and not lost by applying an export
    monitors = {m["name"]: m for m in api.get("/api/monitors")["monitors"]}
    assert monitors["old"]["state"] == "PAUSED" and monitors["api"]["headers"] == {"X-Probe": "1"}
    assert monitors["backup"]["ping_url"] and monitors["backup"]["failures_to_down"] == 1  # the kind's default
    assert monitors["mx"]["record_type"] == "MX" and monitors["db"]["url"] is None
    assert sorted(monitors["api"]["channels"]) == sorted([channels["ops"]["id"], channels["mail"]["id"]])


def test_dry_run_plans_field_by_field_and_changes_nothing(api):
    api.apply(MANIFEST)
    before = api.export()
    edited = json.loads(json.dumps(before))
    monitors = {m["name"]: m for m in edited["monitors"]}
    monitors["api"]["interval"] = 45
    monitors["api"]["channels"] = ["ops"]
    monitors["web"]["tags"] = ["front"]
    monitors["backup"]["cron"] = "30 3 * * *"
    kept = [monitors[name] for name in ("db", "mx", "backup")]
    edited["monitors"] = sorted(  # in name order, as exported
        [monitors["api"], {"name": "new", "url": "http://127.0.0.1:9/new"}, monitors["web"], *kept],
        key=lambda m: m["name"],
    )
    edited["channels"][0]["target"] = "team@example.com"
    edited["status_pages"][0]["title"] = "Acme status"

    plan = api.apply(edited, dry_run=True, prune=True)
    assert plan["dry_run"] and not plan["applied"]
    assert plan["monitors"]["create"] == ["new"] and plan["monitors"]["delete"] == ["old"]
    updates = {u["name"]: u["changes"] for u in plan["monitors"]["update"]}
    assert updates == {
        "api": {"interval": {"from": 30, "to": 45}, "channels": {"from": ["mail", "ops"], "to": ["ops"]}},
        "web": {"tags": {"from": [], "to": ["front"]}},
        "backup": {"cron": {"from": "0 3 * * *", "to": "30 3 * * *"}},
    }
    assert plan["channels"]["update"] == [
        {"name": "mail", "changes": {"target": {"from": "oncall@example.com", "to": "team@example.com"}}}
    ]
    assert plan["status_pages"]["update"][0]["changes"] == {"title": {"from": "Acme", "to": "Acme status"}}
    assert api.export() == before  # nothing changed

    without_prune = api.apply(edited, dry_run=True)
    assert without_prune["monitors"]["delete"] == []

    done = api.apply(edited, prune=True)
    assert done["applied"] and done["monitors"] == plan["monitors"]
    assert api.export() == edited
    assert not api.apply(edited, prune=True)["applied"]


def test_a_secret_given_in_the_file_is_set_and_never_shown(api):
    api.apply(MANIFEST)
    changed = json.loads(json.dumps(MANIFEST))
    changed["channels"][0]["secret"] = "another-secret-0123456789"
    plan = api.apply(changed, dry_run=True)
    assert plan["channels"]["update"] == [
        {"name": "ops", "changes": {"secret": {"from": "(hidden)", "to": "(hidden)"}}}
    ]
    assert "another-secret" not in json.dumps(plan)
    assert api.apply(MANIFEST)["channels"]["unchanged"] == 2  # the same secret again: no change


def test_an_apprise_url_is_never_exported_and_kept_when_left_out(api):
    url = "tgram://123456789:AAbbCCddEEffGGhhIIjjKKll/-1001234567890"
    document = {
        "version": 1,
        "channels": [
            {"name": "chat", "kind": "apprise", "target": url, "events": ["down", "up"], "remind_every": 3600},
        ],
    }
    api.apply(document)
    exported = api.export()
    assert exported["channels"] == [{"name": "chat", "kind": "apprise", "events": ["down", "up"], "remind_every": 3600}]
    assert "AAbbCCdd" not in json.dumps(exported)
    assert api.apply(exported)["channels"]["unchanged"] == 1  # the URL left out: kept
    (channel,) = api.get("/api/channels")["channels"]
    assert channel["target"].startswith("tgram://") and channel["events"] == ["down", "up"]
    moved = {**document["channels"][0], "target": url.replace("1001234567890", "1009999999999")}
    plan = api.apply({"version": 1, "channels": [moved]}, dry_run=True)
    assert plan["channels"]["update"] == [
        {"name": "chat", "changes": {"target": {"from": "(hidden)", "to": "(hidden)"}}}
    ]
    elsewhere = {"version": 1, "channels": [{**exported["channels"][0], "name": "chat 2"}]}
    res = api.apply(elsewhere, status=409)  # a new channel from an export: its URL is not there
    assert "give its target" in res["message"]


@pytest.mark.parametrize(
    "document, fields",
    [
        ({"monitors": [{"name": "a", "url": "ftp://x"}]}, {"monitors.0.url"}),
        ({"monitors": [{"name": "a", "url": "http://x/", "nope": 1}]}, {"monitors.0.nope"}),
        ({"monitors": [{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}]}, {"monitors"}),
        ({"monitors": [{"name": "a", "url": "http://x/", "channels": ["nobody"]}]}, {"body"}),
        ({"status_pages": [{"title": "t", "slug": "Not A Slug"}]}, {"status_pages.0.slug"}),
        ({"version": 2}, {"version"}),
        ({"colour": "red"}, {"colour"}),
    ],
)
def test_a_bad_manifest_says_where_and_changes_nothing(api, document, fields):
    api.apply(MANIFEST)
    before = api.export()
    res = api.apply(document, status=422, prune=True)
    assert set(res["fields"]) == fields, res
    assert api.export() == before


def test_conflicts_change_nothing(api, app, testapp, make_user, make_key):
    other = make_key(make_user("other@example.com"), "write")[1]
    testapp.post_json(
        "/api/apply",
        {"status_pages": [{"title": "Taken", "slug": "acme-status"}]},
        headers={"Authorization": f"Bearer {other}"},
    )
    res = api.apply(MANIFEST, status=409)
    assert "acme-status" in res["message"] and "Nothing was changed" in res["message"]
    assert api.export() == {"version": 1, "channels": [], "monitors": [], "status_pages": []}
    limit = find(app.registry, MonitorSettings).max_per_user
    many = {"monitors": [{"name": f"m{n}", "url": f"http://127.0.0.1:9/{n}"} for n in range(limit + 1)]}
    assert "the most allowed" in api.apply(many, status=409, as_yaml=False)["message"]
    assert api.get("/api/monitors")["monitors"] == []


@pytest.mark.parametrize(
    "body, status",
    [
        (b"a: &x [1, 2]\nb: [*x, *x, *x]\n", 400),  # aliases: the root of "billion laughs"
        (b"monitors: [\n", 400),
        (b"- just\n- a list\n", 400),
        (b"[" * 20000 + b"]" * 20000, 400),
        (b"monitors: []\n" + b"#" * (4 * 1024 * 1024), 413),
        # numbers no field takes: a 422 naming the body, not a traceback
        (b"monitors:\n- name: a\n  url: http://127.0.0.1/\n  interval: 1" + b"0" * 5000 + b"\n", 422),
        (b"monitors:\n- name: a\n  url: http://127.0.0.1/\n  timeout: 0x" + b"f" * 20 + b"\n", 422),
        (b"monitors:\n- name: a\n  url: http://127.0.0.1/\n  timeout: .nan\n", 422),
    ],
)
def test_unreadable_or_oversized_yaml_is_refused(api, testapp, body, status):
    res = testapp.post(
        "/api/apply",
        body,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/yaml"},
        status=status,
    )
    assert res.json["message"]
    if status == 422:
        assert res.json["fields"] == {"body": "numbers must lie within ±2^63 and be finite"}
    assert api.get("/api/monitors")["monitors"] == []


@pytest.mark.parametrize("number", ["1" + "0" * 5000, "1e999", "NaN", "-Infinity", "9223372036854775808"])
def test_numbers_no_field_takes_are_422_in_json_too(api, testapp, number):
    body = '{"monitors": [{"name": "a", "url": "http://127.0.0.1/", "interval": NUMBER}]}'.replace("NUMBER", number)
    res = testapp.post(
        "/api/apply",
        body,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        status=422,
    )
    assert res.json["fields"] == {"body": "numbers must lie within ±2^63 and be finite"}


def test_a_read_key_may_export_but_not_apply(testapp, make_user, make_key):
    token = make_key(make_user("reader@example.com"), "read")[1]
    headers = {"Authorization": f"Bearer {token}"}
    testapp.get("/api/export", headers=headers, status=200)
    testapp.post_json("/api/apply", MANIFEST, headers=headers, status=403)


def run_cli(*args, stdin=None):
    return subprocess.run(["myapp_monitors", *args], capture_output=True, text=True, timeout=120, input=stdin)


def test_the_command_line_exports_plans_applies_and_round_trips(app, serve, api, tmp_path):
    url = serve(app)
    api.apply(MANIFEST)
    path = tmp_path / "monitors.yaml"
    res = run_cli("export", str(path), "--url", url, "--token", api.token)
    assert res.returncode == 0, res.stderr
    assert "6 monitors, 2 channels, 1 status page" in res.stderr
    document = yaml.safe_load(path.read_text())
    document["monitors"][0]["interval"] = 45  # api
    document["monitors"] = [m for m in document["monitors"] if m["name"] != "old"]
    path.write_text(yaml.safe_dump(document, sort_keys=False))

    res = run_cli("apply", str(path), "--dry-run", "--prune", "--url", url, "--token", api.token)
    assert res.returncode == 0, res.stderr
    assert "~ api: interval 30 -> 45" in res.stdout and "  - old" in res.stdout
    assert "monitors: 0 to create, 1 to update, 1 to delete, 4 unchanged" in res.stdout
    assert "dry run: nothing was changed" in res.stdout and "planning" in res.stderr
    assert len(api.get("/api/monitors")["monitors"]) == 6

    res = run_cli("apply", str(path), "--prune", "--url", url, "--token", api.token)
    assert res.returncode == 0 and "applied" in res.stdout, res.stderr
    again = tmp_path / "again.json"
    assert run_cli("export", str(again), "--url", url, "--token", api.token).returncode == 0
    assert json.loads(again.read_text()) == document  # the edited file, exactly

    res = run_cli("apply", "-", "--url", url, "--token", "wrong", stdin=path.read_text())
    assert res.returncode == 1 and "refused (401)" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitors:\n  - name: x\n    url: gopher://x\n")
    res = run_cli("apply", str(bad), "--url", url, "--token", api.token)
    assert res.returncode == 1 and "monitors.0.url" in res.stderr
    res = run_cli("export", "x.yaml", "--url", "http://127.0.0.1:9", "--token", "t")
    assert res.returncode == 1 and "cannot reach" in res.stderr
    assert run_cli("apply", "x.yaml").returncode == 2  # no --url / --token
