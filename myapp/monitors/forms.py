"""The monitor form: what a browser posts (all text) into what the schema checks (typed values)."""

from .schema import FIELDS

INTEGERS = ("interval", "timeout", "degraded_ms", "tls_days", "failures_to_down", "successes_to_up", "port", "grace")
TEXT = ("name", "kind", "url", "method", "expect_status", "host", "record_type", "resolver", "cron", "timezone")
OPTIONAL_TEXT = ("keyword", "keyword_absent", "json_path", "json_value", "body")
CHECKBOXES = ("paused", "notify_degraded", "tls", "public_badges")


def headers_text(headers):
    return "\n".join(f"{name}: {value}" for name, value in (headers or {}).items())


def form_values(monitor=None):
    """The form's text for a monitor (or a new one's defaults)."""
    if monitor is None:
        return {
            "kind": "http",
            "method": "GET",
            "record_type": "A",
            "grace": "60",
            "interval": "60",
            "timeout": "10",
            "expect_status": "200-399",
            "tls_days": "14",
            "successes_to_up": "1",
        }
    values = {name: "" if getattr(monitor, name) is None else str(getattr(monitor, name)) for name in FIELDS}
    values["headers"] = headers_text(monitor.headers)
    values["tags"] = ", ".join(monitor.tags or [])
    values["expected"] = "\n".join(monitor.expected or [])
    for name in CHECKBOXES:
        values[name] = "on" if getattr(monitor, name) else ""
    return values


def from_form(post):
    """(data for the schema, {field: problem} found while reading the text)."""
    data, errors = {}, {}
    for name in TEXT:
        if post.get(name, "").strip():
            data[name] = post[name].strip()
    for name in INTEGERS:
        raw = post.get(name, "").strip()
        if not raw:
            continue
        if raw.isascii() and raw.isdigit() and len(raw) < 10:
            data[name] = int(raw)
        else:
            errors[name] = "a whole number"
    for name in OPTIONAL_TEXT:
        if post.get(name, "").strip():
            data[name] = post[name] if name == "body" else post[name].strip()
    headers = {}
    for line in post.get("headers", "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            errors["headers"] = f"write one header a line, as Name: value (not {line.strip()[:40]!r})"
            break
        headers[name.strip()] = value.strip()
    if headers:
        data["headers"] = headers
    tags = [tag.strip() for tag in post.get("tags", "").split(",") if tag.strip()]
    if tags:
        data["tags"] = tags
    expected = [line.strip() for line in post.get("expected", "").splitlines() if line.strip()]
    if expected:
        data["expected"] = expected
    for name in CHECKBOXES:
        data[name] = bool(post.get(name))
    return data, errors


def channels_from_form(post):
    """The channel ids ticked in the form (ownership is the service's to check)."""
    return [int(v) for v in post.getall("channels") if v.isascii() and v.isdigit() and len(v) < 10]
