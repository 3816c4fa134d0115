"""What a check's answer must look like, and the reason, in words, when it does not.  Pure functions, but for
the clock that days_left reads."""

import dataclasses
import functools
import json
import re
import ssl
import time
from typing import Any

STATUS_SPEC = re.compile(r"^\s*[1-5][0-9]{2}(\s*-\s*[1-5][0-9]{2})?(\s*,\s*[1-5][0-9]{2}(\s*-\s*[1-5][0-9]{2})?)*\s*$")


@functools.lru_cache(maxsize=1024)
def status_ranges(spec: str) -> tuple[tuple[int, int], ...]:
    """``"200-299,301"`` -> ((200, 299), (301, 301)); ValueError for anything else."""
    if not isinstance(spec, str) or not STATUS_SPEC.match(spec):
        raise ValueError("use status codes and ranges, such as 200-299,301")
    ranges = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if low > high:
            raise ValueError(f"the range {low}-{high} is backwards")
        ranges.append((low, high))
    return tuple(ranges)


def normalize_status_spec(spec: str) -> str:
    return ",".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in status_ranges(spec))


def status_matches(spec: str, code: int) -> bool:
    return any(low <= code <= high for low, high in status_ranges(spec))


def json_path_steps(path: str) -> list[str]:
    """``"checks.0.status"`` -> ["checks", "0", "status"]; ValueError for an empty step."""
    steps = path.split(".")
    if not path or any(step == "" for step in steps):
        raise ValueError("use names and indexes separated by dots, such as checks.0.status")
    return steps


def json_text(value: Any) -> str:
    """A JSON value as the text it is compared with: strings as they are, the rest as JSON writes them."""
    return value if isinstance(value, str) else json.dumps(value)


def find_json(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``, or raise LookupError naming the step that is missing."""
    value = document
    for step in json_path_steps(path):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            raise LookupError(step)
    return value


@dataclasses.dataclass(frozen=True)
class Expectations:
    """The rules of one monitor, as its check needs them."""

    expect_status: str = "200-399"
    keyword: str | None = None
    keyword_absent: str | None = None
    json_path: str | None = None
    json_value: str | None = None
    tls_days: int = 14

    @classmethod
    def of(cls, monitor: Any) -> "Expectations":
        return cls(**{f.name: getattr(monitor, f.name) for f in dataclasses.fields(cls)})

    @property
    def needs_body(self) -> bool:
        return bool(self.keyword or self.keyword_absent or self.json_path)


def quoted(text: str, limit: int = 40) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "'" + text.replace("'", "\\'") + "'"


def days_left(cert: dict[str, Any] | None) -> int | None:
    """Whole days until a certificate (as ``getpeercert()`` gives it) expires; None without one."""
    if not cert or "notAfter" not in cert:
        return None
    return int((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) // 86400)


def certificate_problem(days_left: int | None, tls_days: int) -> str | None:
    """Why a certificate with ``days_left`` fails a check that wants ``tls_days``, or None (None: no certificate)."""
    if days_left is None or days_left >= tls_days:
        return None
    if days_left < 0:
        return f"certificate expired {-days_left} days ago"
    return f"certificate expires in {days_left} days"


def is_certificate_problem(reason: str | None) -> bool:
    """Whether a check's ``reason`` to fail is a certificate that expires soon or has (certificate_problem's)."""
    return reason is not None and reason.startswith(("certificate expires in ", "certificate expired "))


def evaluate(rules: Expectations, status_code: int, body: bytes, cert_days_left: int | None = None) -> str | None:
    """None when the answer passes every rule, else the reason it fails (the first rule it breaks)."""
    if not status_matches(rules.expect_status, status_code):
        return f"expected status {rules.expect_status}, got {status_code}"
    if (problem := certificate_problem(cert_days_left, rules.tls_days)) is not None:
        return problem
    if rules.keyword or rules.keyword_absent:
        text = body.decode("utf-8", "replace")
        if rules.keyword and rules.keyword not in text:
            return f"keyword {quoted(rules.keyword)} not found"
        if rules.keyword_absent and rules.keyword_absent in text:
            return f"keyword {quoted(rules.keyword_absent)} found"
    if rules.json_path:
        try:
            document = json.loads(body)
        except ValueError:
            return "the body is not JSON"
        try:
            value = json_text(find_json(document, rules.json_path))
        except LookupError:
            return f"{rules.json_path} not found in the JSON body"
        if rules.json_value is not None and value != rules.json_value:
            return f"{rules.json_path} is {quoted(value)}, expected {quoted(rules.json_value)}"
    return None
