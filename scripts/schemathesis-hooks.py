"""Schemathesis hooks for DevTrack Hub, loaded by scripts/schemathesis (see docs/http-api.md).

1. Signatures: the webhook doors verify an HMAC of the raw body, which no static auth setting can give. The
   config sets their signature headers to SIGN_ME and `sign` replaces that, on the request as it is sent, with
   the real signature; a request without the placeholder (schemathesis testing a missing signature) goes out as
   generated. Generated sourceIDs mostly become sources whose secrets are known, so deliveries get through.
2. Values the schema allows but the hub's clock decides (heartbeat times, event times, dates within N days of
   today): two in three valid ones are moved near now, so those requests are really accepted too.
3. No requests to the internet: generated webhook and Discord URLs get hosts that never resolve.
4. `filter_failure` drops a failure only when the hub's answer is a documented rule a schema cannot state (a
   rule between fields, relative to today, on the stored resource, in UTF-8 bytes or grapheme clusters), and
   it checks that rule on the request itself. Every other failure stands. Dropped ones are logged by kind.
5. Every request is counted, with the statuses each operation answered ($DT_REQUEST_COUNT_FILE, at exit).
6. Public routes (`/api/v1/public/{login}…`): three in four valid requests name the demo user (`$DT_LOGIN`, in
   either case), whose profile the script made public, so that real profiles, cards and badges are checked too.
7. The run keeps its own credential: a revocation (`DELETE /api/v1/tokens/{id}`) of a token made before the run
   (the banner's token, which every request uses) goes to an unknown id instead (404). Schemathesis infers a link
   from `GET /api/v1/tokens` to it on its own; revoking that token would turn the rest of the run into 401s.
8. The run keeps its own account: a deletion (`DELETE /api/v1/me`) whose confirmation names the demo user goes with
   another login instead, and is refused (400 `confirmation_mismatch`) as a mistyped login is.
"""

import atexit
import base64
import datetime as dt
import hashlib
import hmac
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
from collections import Counter

import jsonschema_rs
import schemathesis

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
statuses = {}  # operationId -> Counter of the statuses it answered
RUN_STARTED = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
OWN_TOKENS = set()  # ids of tokens made before the run (7), learnt from GET /api/v1/tokens


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


# 1 and 2: sources, signatures, values near now --------------------------------------------------------


@schemathesis.hook
def map_case(context, case):
    op = op_id(case)
    if op in RECEIVE:  # three in four random (unknown) source ids become a live source of the right kind
        live = sorted(i for i, s in SOURCES.items() if s["kind"] == RECEIVE[op] and s["secret"] and s.get("enabled", True))
        sid, seed = (case.path_parameters or {}).get("sourceID"), (case.path_parameters, case.body, case.headers)
        if sid not in SOURCES and is_uuid(sid) and live and pick(seed, 4):
            case.path_parameters["sourceID"] = live[pick(seed, len(live))]
    if op == "deleteMe" and isinstance(case.body, dict) and str(case.body.get("confirm_login", "")).strip().lower() == LOGIN.lower():
        case.body["confirm_login"] = "not-" + LOGIN  # 8: the run's own account stays
    login = (case.path_parameters or {}).get("login")
    if op in PUBLIC_OPS and LOGIN and not negative(case) and login not in (LOGIN, LOGIN.lower()) and pick((login, case.query), 4):
        case.path_parameters["login"] = LOGIN if pick(login, 2) else LOGIN.lower()  # 6: the demo user, in either case
    if negative(case):
        return case  # what makes it invalid may be one of the values below: leave them as generated
    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    for item in case.body if isinstance(case.body, list) else [case.body]:
        if not isinstance(item, dict):
            continue
        if op == "receiveCustomWebhook" and isinstance(item.get("occurred_at"), str) and pick(item["occurred_at"], 3):
            item["occurred_at"] = (now - dt.timedelta(minutes=pick(item, 600))).isoformat()
        if op in HEARTBEAT_OPS and type(item.get("time")) in (int, float) and pick(item["time"], 3):
            item["time"] = now.timestamp() - pick(item, 86400)
        name = {"createStreakFreeze": "date", "createGoal": "deadline", "updateGoal": "deadline"}.get(op)
        if name and date_of(item.get(name)) and pick(item[name], 3):  # a freeze looks back, a deadline ahead
            item[name] = str(today + dt.timedelta(days=-pick(item, 30) if name == "date" else pick(item, 3600)))
        for session in item.get("sessions", []) if op == "syncLocalCoding" else []:
            if isinstance(session, dict) and date_of(session.get("date")) and pick(session["date"], 3):
                session["date"] = str(today - dt.timedelta(days=pick(session, 300)))
    query = case.query
    if op in RANGE_OPS and isinstance(query, dict) and date_of(query.get("to") or query.get("from")) and pick(query, 3):
        end = today - dt.timedelta(days=pick(query, 60))
        query.update({"to": str(end), "from": str(end - dt.timedelta(days=pick(end, 366)))})
    return case


def sign(request, fresh):
    """A `requests` auth hook: it runs on the prepared request, once the body is serialized. A valid (`fresh`)
    request gets a current `webhook-timestamp`: a generated one is almost never within 5 minutes of now."""
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body
    path = urllib.parse.urlsplit(request.url).path
    secret = HUB_SECRET if path.endswith("/webhooks/github") else (SOURCES.get(path.rsplit("/", 1)[-1].lower()) or {}).get("secret")
    headers = request.headers
    if secret is None:
        return request
    if headers.get("X-Hub-Signature-256") == SIGN_ME:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if headers.get("X-Gitlab-Token") == SIGN_ME:
        headers["X-Gitlab-Token"] = secret
    if headers.get("webhook-signature") == SIGN_ME and secret.startswith("whsec_"):
        if fresh:
            headers.setdefault("webhook-id", "st-" + hashlib.sha256(body).hexdigest()[:16])
            headers["webhook-timestamp"] = str(int(time.time()))
        signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
        mac = hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed, hashlib.sha256).digest()
        headers["webhook-signature"] = "v1," + base64.b64encode(mac).decode()
    return request


# 3: no deliveries to generated hosts --------------------------------------------------------------------


def offline(request):
    """Generated webhook URLs name real-looking hosts (`then.dev`) the hub would deliver to: they get the
    reserved suffix `.invalid` (RFC 6761: never resolves, and still a public name to the hub's checks). Discord
    URLs go to `discord.invalid`, which the script lets stand in for Discord (`notify.allow_hosts`)."""
    try:
        body = json.loads(request.body or b"")
    except ValueError:
        return request
    if not isinstance(body, dict):
        return request
    url = body.get("url")
    if isinstance(url, str) and len(url.encode()) <= 2040 and (m := re.match(r"(https://)([^/?#@:\[\]]*[a-zA-Z][^/?#@:\[\]]*)(.*)", url)):
        body["url"] = f"{m[1]}{m[2]}.invalid{m[3]}"
    if isinstance(body.get("discord_webhook_url"), str):
        body["discord_webhook_url"] = re.sub(r"^https://((ptb|canary)\.)?discord(app)?\.com/", "https://discord.invalid/", body["discord_webhook_url"])
    request.prepare_body(None, None, json=body)
    return request


@schemathesis.hook
def before_call(context, case, kwargs):
    # 7: the run's own token is revoked as an id no token has (a 404), derived from it so that a seed reproduces it
    if op_id(case) == "revokeToken" and (own := str((case.path_parameters or {}).get("id", "")).lower()) in OWN_TOKENS:
        case.path_parameters["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"devtrack-schemathesis:not-a-token:{own}"))
    if op_id(case) in SIGNED:
        # An invalid request keeps its generated webhook headers: they may be what makes it invalid.
        kwargs["auth"] = lambda request, fresh=not negative(case): sign(request, fresh)
    elif op_id(case) in ("createWebhook", "updateWebhook", "updateSettings"):
        kwargs["auth"] = offline


# 5: counting, and what the API's answers say about sources ----------------------------------------------


@schemathesis.hook
def after_call(context, case, response):
    op, path = op_id(case), {k: str(v).lower() for k, v in (case.path_parameters or {}).items()}
    statuses[op] = statuses.get(op, Counter()) + Counter([response.status_code])
    if op == "deleteSource" and response.status_code == 204:
        SOURCES.pop(path["id"], None)
    if op in RECEIVE and response.status_code == 404 and SOURCES.get(path.get("sourceID"), {}).get("kind") == RECEIVE[op]:
        SOURCES.pop(path["sourceID"], None)
    try:
        data = response.json()
    except Exception:
        return
    if op == "listTokens" and response.status_code == 200 and isinstance(data, dict):
        for token in data.get("tokens", []):
            try:
                if dt.datetime.fromisoformat(token["created_at"].replace("Z", "+00:00")) < RUN_STARTED:
                    OWN_TOKENS.add(token["id"].lower())
            except (KeyError, TypeError, AttributeError, ValueError):
                pass
    if op not in SOURCE_OPS or not (200 <= response.status_code < 300 and isinstance(data, dict)):
        return
    for source in data.get("sources", [data]):
        if isinstance(source, dict) and is_uuid(source.get("id")) and source.get("kind") in ("github", "custom"):
            entry = SOURCES.setdefault(source["id"], {"secret": None})
            entry.update(kind=source["kind"], mapped=source.get("mapping") is not None, enabled=source.get("enabled", True))
            entry["secret"] = source.get("secret") or entry["secret"]


@atexit.register
def write_counts():
    if os.environ.get("DT_REQUEST_COUNT_FILE"):
        with open(os.environ["DT_REQUEST_COUNT_FILE"], "w") as file:
            file.write(f"{sum(sum(c.values()) for c in statuses.values())}\n")
            for op, counts in sorted(statuses.items()):
                file.write(f"  {op}: " + " ".join(f"{status}×{n}" for status, n in sorted(counts.items())) + "\n")


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


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """True keeps the failure. Dropped ones go to $DT_FILTERED_LOG, which the script sums up."""
    try:
        error = response.json().get("error") or {}
        code, message = error.get("code"), error.get("message", "")
    except Exception:
        return True
    if failure.code == "ST101":  # a 5xx, which fails even when documented
        keep = not signing_in_unconfigured(case, response.status_code, code)
    elif failure.code == "ST202":  # a schema-valid request was refused
        try:
            keep = not documented_refusal(case, response.status_code, code, message)
        except (KeyError, TypeError, ValueError):
            keep = True  # not the shape a documented rule needs: the failure stands
    elif failure.code == "ST201" and response.status_code < 300:  # a schema-violating request was accepted
        keep = not (within_character_limit(case) or bad_items_only(case, response))
    elif failure.code == "ST201":  # refused, with a 4xx outside schemathesis' list (413 `batch_too_large`)
        keep = not (400 <= response.status_code < 500 and str(response.status_code) in case.operation.definition.raw["responses"])
    else:
        keep = True
    if not keep and os.environ.get("DT_FILTERED_LOG"):
        with open(os.environ["DT_FILTERED_LOG"], "a") as log:
            log.write(f"{failure.code} {op_id(case)} {response.status_code} {code or '-'}\n")
    return keep
