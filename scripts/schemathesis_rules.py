"""The rules of DevTrack Hub's API that its OpenAPI document cannot state (between fields, relative to today, on the
stored resource, in UTF-8 bytes or grapheme clusters), checked on a request itself, and what the hooks share:
scripts/schemathesis-hooks.py drops a failure only when one of these says the hub's answer was the documented one."""

import base64
import datetime as dt
import ipaddress
import json
import os
import re
import time
import unicodedata
import urllib.parse
import uuid
import zlib
import zoneinfo

import jsonschema_rs

SIGN_ME = "sign-me"
HUB_SECRET = os.environ["DT_GITHUB_APP_SECRET"]
# id -> {"kind": "github" | "custom", "secret", "mapped", "enabled"}: seeded by the script, then kept up to
# date from the API's answers (sources schemathesis creates, rotates, disables and deletes).
SOURCES = json.loads(os.environ["DT_SOURCES"])
RECEIVE = {"receiveGitHubSourceWebhook": "github", "receiveCustomWebhook": "custom"}
SIGNED = {"receiveGitHubAppWebhook", *RECEIVE}
SOURCE_OPS = {"createSource", "listSources", "getSource", "updateSource", "rotateSourceSecret"}
HEARTBEAT_OPS = {"createHeartbeats", "createWakaTimeHeartbeats", "createWakaTimeHeartbeatsBulk"}
RANGE_OPS = {
    "getDailyMetrics", "getMetricsSummary", "getRepositoryMetrics", "getLanguageMetrics", "getHourlyMetrics", "getCustomMetrics",
    "getCodingSummary",
}
PUBLIC_OPS = {"getPublicProfile", "getStreakCard", "getStatsCard", "getLanguagesCard", "getBadge", "getShieldsEndpoint"}
LOGIN = os.environ.get("DT_LOGIN", "")
STATS_ROWS = {"commits", "prs", "prs_merged", "reviews", "issues", "coding"}
# What Swift trims: `.whitespaces` (general category Zs, and tab) and `.whitespacesAndNewlines` (also U+000A-U+000D,
# U+0085, U+2028, U+2029). Python's own `str.strip()` also takes U+001C-U+001F, which Swift keeps.
BLANKS = "\t \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
BLANKS_AND_NEWLINES = BLANKS + "\n\x0b\x0c\r\x85\u2028\u2029"
ZONES = zoneinfo.available_timezones() | {"UTC"}
DAY = dt.timedelta(days=1)
RUN_STARTED = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)


def op_id(case):
    return case.operation.definition.raw.get("operationId")


def negative(case):
    return case.meta is not None and case.meta.generation.mode.is_negative


def pick(value, n):
    """A choice in range(n) derived from generated data, so that a seed still reproduces the run."""
    return zlib.crc32(repr(value).encode()) % n


def is_uuid(text):
    try:
        return isinstance(text, str) and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def date_of(text):
    try:
        return dt.date.fromisoformat(text[:10]) if isinstance(text, str) and re.match(r"\d{4}-\d\d-\d\d", text) else None
    except ValueError:
        return None


def impossible_date(text):
    """Shaped like YYYY-MM-DD (all a pattern can check) but not a calendar date, such as 2025-02-30."""
    return isinstance(text, str) and re.match(r"\d{4}-\d\d-\d\d", text) is not None and date_of(text) is None


# 4: refusals and acceptances by rules a schema cannot state ---------------------------------------------


def todays():
    """What "today" may be for the hub: the user's zone is UTC, but PATCH /api/v1/settings may change it."""
    now = dt.datetime.now(dt.timezone.utc).date()
    return (now - DAY, now, now + DAY)


def outside(day, days_before, days_after):
    """`day` is outside [today - days_before, today + days_after] for some possible today."""
    return day is None or any(not (t - days_before * DAY <= day <= t + days_after * DAY) for t in todays())


def range_refused(first, last):
    """`from` after `to`, or over 366 days, for some possible today (what a missing parameter means)."""
    for t in todays():
        end = last(t)
        start = first(t, end)
        if start is None or end is None or start > end or (end - start).days + 1 > 366:
            return True
    return False


def strings(case):
    """Every string of the request as the hub reads it: headers go out as ISO-8859-1 bytes, read as UTF-8."""
    for value in (case.headers or {}).values():
        if isinstance(value, str):
            yield value.encode("latin-1", "replace").decode("utf-8", "replace")
    values = [case.body, case.query, case.path_parameters]
    while values:
        value = values.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            values += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            values += value


def text_refused(message, case):
    """`… is N bytes long; at most M bytes …` or `… contains the control character U+XXXX`, and the request,
    as the hub reads it, really holds such a string (or one that is, trimmed as fields that trim are)."""
    if m := re.search(r"is (\d+) bytes long; at most (\d+) bytes", message):
        sizes = {len(v.encode("utf-8", "surrogatepass")) for s in strings(case) for v in (s, s.strip(BLANKS_AND_NEWLINES))}
        return int(m[1]) > int(m[2]) and int(m[1]) in sizes
    if m := re.search(r"contains the control character U\+([0-9A-F]{4})", message):
        return any(chr(int(m[1], 16)) in s for s in strings(case))
    return False


def native_refused(case):
    """A custom source without a mapping takes only native events (the schema's MappedPayload alternative is
    for mapped sources), occurring from 1970 to a day after now."""
    schema = {"anyOf": [{"$ref": "#/components/schemas/CustomEvent"}, {"$ref": "#/components/schemas/CustomEventList"}]}
    schema["components"] = case.operation.schema.raw_schema["components"]
    if not jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(case.body):
        return True
    latest = dt.datetime.now(dt.timezone.utc) + DAY - dt.timedelta(minutes=1)
    for event in case.body if isinstance(case.body, list) else [case.body]:
        try:
            at = dt.datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        except ValueError:
            return True
        if at.tzinfo is None or not (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) <= at <= latest):
            return True
    return False


def control(text):
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


def feed_cursor_refused(text):
    """What `FeedCursor(text)` refuses: over 400 bytes; not `{microseconds}_{base64url}`; a time before 1970 or more than
    a day ahead of the hub's clock; a second part that is not the base64url (unpadded, as written) of a UTF-8 id of
    1-250 bytes without control characters."""
    head, separator, tail = text.partition("_")
    if len(text.encode()) > 400 or not separator or not re.fullmatch(r"[+-]?[0-9]+", head) or not 0 <= int(head) < 2**63:
        return True
    if int(head) > (time.time() + 86400 - 60) * 1e6:
        return True
    try:
        data = base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4))
        ident = data.decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return True
    written = base64.urlsafe_b64encode(data).decode().rstrip("=")
    return written != tail or not 1 <= len(data) <= 250 or control(ident)


def list_refused(text, names=None):
    """What the cards' comma-separated `hide` refuses, as the hub reads it (a space goes out as `+`, which the hub
    keeps): more than 20 names once each is trimmed of blanks and empty ones dropped, a name over 40 bytes or with a
    control character, or (for the stats card) a name that is not a row."""
    items = [item.strip(BLANKS) for item in text.replace(" ", "+").split(",")]
    items = [item for item in items if item]
    if len(items) > 20 or any(len(item.encode()) > 40 or control(item) for item in items):
        return True
    return names is not None and any(item not in names for item in items)


def documented_refusal(case, status, code, message):
    """Whether the refusal of a schema-valid request is a documented rule that holds for this request."""
    op, q, body = op_id(case), case.query or {}, case.body if isinstance(case.body, dict) else {}
    if status == 400 and text_refused(message, case):
        return True  # UTF-8 byte limits (`maxLength` counts code points); header bytes read as UTF-8
    if op in RANGE_OPS and code in ("invalid_range", "invalid_date"):  # defaults: to = today, from = to - 29
        last = lambda t: date_of(q["to"]) if "to" in q else t  # noqa: E731
        first = lambda t, end: date_of(q["from"]) if "from" in q else end and end - 29 * DAY  # noqa: E731
        return impossible_date(q.get("from")) or impossible_date(q.get("to")) or range_refused(first, last)
    if op == "getWakaTimeSummaries" and code in ("invalid_range", "invalid_date"):
        day = lambda name, t: {"today": t, "yesterday": t - DAY}.get(q.get(name, "today")) or date_of(q.get(name))  # noqa: E731
        return impossible_date(q.get("start")) or impossible_date(q.get("end")) or range_refused(
            lambda t, _: day("start", t), lambda t: day("end", t))
    if op == "listNotifications" and code == "invalid_cursor":  # a time more than a day ahead
        return int(q["cursor"].split("_")[0]) > (time.time() + 86400 - 60) * 1e6
    if op == "getActivityFeed" and code == "invalid_cursor":
        return feed_cursor_refused(q["cursor"])
    if op == "getLeaderboard" and code == "invalid_language":  # only commits and coding time have languages; blank once trimmed
        language = q["language"].replace(" ", "+")  # a space goes out as `+`, which the hub keeps
        return q.get("metric", "commits") not in ("commits", "coding_seconds") or not language.strip(BLANKS)
    if op in ("getStatsCard", "getLanguagesCard") and code == "invalid_hide":
        return list_refused(q["hide"], STATS_ROWS if op == "getStatsCard" else None)
    if op in ("createGoal", "updateGoal") and code == "invalid_deadline":
        return impossible_date(body.get("deadline")) or outside(date_of(body.get("deadline")), 0, 3653)
    if op in ("createGoal", "updateGoal", "updateSettings") and code == "invalid_timezone":
        return body.get("timezone") not in ZONES  # a spelling the pattern allows, not in the tz database
    if op == "createStreakFreeze" and code == "invalid_date":
        return impossible_date(body.get("date")) or outside(date_of(body.get("date")), 30, 30)
    if op == "syncLocalCoding" and code == "invalid_body" and ".date must be" in message:
        dates = [s.get("date") for s in body.get("sessions", []) if isinstance(s, dict)]
        return any(impossible_date(d) or outside(date_of(d), 400, 1) for d in dates)
    if op in HEARTBEAT_OPS and code == "invalid_heartbeat" and message in ("time is older than 30 days", "time is in the future"):
        return not (time.time() - 30 * 86400 + 60 < float(body["time"]) < time.time() + 86400 - 60)
    if op == "receiveCustomWebhook" and code == "invalid_body":
        source = SOURCES.get(str(case.path_parameters["sourceID"]).lower())
        return source is not None and not source["mapped"] and native_refused(case)
    if op in SIGNED and code == "invalid_body" and "form" in (case.media_type or ""):
        try:  # a form's `payload` must hold a JSON object (`contentSchema` is only an annotation)
            return not isinstance(json.loads(body.get("payload", "")), dict)
        except ValueError:
            return True
    if op == "deleteMe" and code == "confirmation_mismatch":  # only the user's own login deletes (never sent: see 8)
        return str(body.get("confirm_login", "")).strip().lower() != LOGIN.lower()
    if op in RECEIVE and status == 410 and code == "source_disabled":
        return True  # state: the source was disabled (PATCH enabled: false) earlier in the run
    if op == "updateSource" and code == "invalid_mapping" and "authors" in body and not (body.get("preset") or body.get("mapping")):
        return True  # state: `authors` alone goes to the source's current mapping, which may be none or take none
    if op == "updateSource" and code == "invalid_mapping" and "custom sources" in message:
        return SOURCES.get(str(case.path_parameters["id"]).lower(), {}).get("kind") == "github"
    if op in ("createWebhook", "updateWebhook") and code == "invalid_url" and "address, which the hub does not call" in message:
        try:
            return not ipaddress.ip_address(urllib.parse.urlsplit(body["url"]).hostname or "").is_global
        except ValueError:
            return False
    return False


# "Characters" limits count Swift characters (grapheme clusters) of the trimmed text, `maxLength` code points:
# a name of 210 code points that is 43 characters with combining marks is rightly accepted.
CHARACTER_LIMITS = {  # operation: (field, characters, bytes)
    "createWebhook": ("name", 100, 400), "updateWebhook": ("name", 100, 400), "createCodingKey": ("name", 100, 400),
    "createSource": ("name", 100, 400), "updateSource": ("name", 100, 400), "createToken": ("name", 100, 400),
    "createGoal": ("title", 200, 800), "updateGoal": ("title", 200, 800),
}


def characters(text):
    """Grapheme clusters, approximately: a code point that combines, joins or selects a variant extends one."""
    count, joined = 0, False
    for char in text:
        count += not (joined or unicodedata.category(char) in ("Mn", "Me", "Mc") or char == "\u200d" or "\ufe00" <= char <= "\ufe0f")
        joined = char == "\u200d"
    return count


def within_character_limit(case):
    """The request breaks only the `maxLength` of a characters-limited field whose text the hub rightly takes."""
    field, limit, max_bytes = CHARACTER_LIMITS.get(op_id(case), (None, 0, 0))
    body = case.body if isinstance(case.body, dict) else {}
    text = body.get(field)
    if not isinstance(text, str) or len(text) <= limit:
        return False
    trimmed = text.strip()
    if not (1 <= characters(trimmed) <= limit and len(trimmed.encode()) <= max_bytes) or re.search("[\x00-\x1f\x7f-\x9f]", trimmed):
        return False
    schema = dict(case.operation.definition.raw["requestBody"]["content"]["application/json"]["schema"])
    schema["components"] = case.operation.schema.raw_schema["components"]
    return jsonschema_rs.validator_for(schema).is_valid({**body, field: "x"})


def bad_items_only(case, response):
    """An array of heartbeats is answered 201 with a slot per item, and an invalid item, or a bad `X-Machine-Name`
    (which fails them all), fails only its slot: there the refusal is in the slots, not in the status."""
    try:
        slots = response.json()["responses"]
    except Exception:
        return False
    return op_id(case) in HEARTBEAT_OPS and isinstance(case.body, list) and len(slots) == len(case.body) and all(s[1] == 400 for s in slots)


SIGN_IN_OPS = {"startGitHubSignIn", "finishGitHubSignIn"}


def signing_in_unconfigured(case, status, code):
    """`/auth/github*` answer every request 503 `sign_in_not_configured` on a hub without a GitHub OAuth App, which
    the script's `devtrack dev` is (no `github.client_id`/`client_secret` in the configuration, and none in the
    environment it inherits): the documented answer of a feature switched off, not a failure of the server."""
    configured = os.environ.get("DEVTRACK_GITHUB_CLIENT_ID") and os.environ.get("DEVTRACK_GITHUB_CLIENT_SECRET")
    return op_id(case) in SIGN_IN_OPS and status == 503 and code == "sign_in_not_configured" and not configured
