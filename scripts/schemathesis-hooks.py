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
import json
import os
import re
import sys
import time
import urllib.parse
import uuid
from collections import Counter

import schemathesis

# The rules live beside this file (scripts/ is not on the path of the process that loads the hooks).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schemathesis_rules import (  # noqa: E402
    HEARTBEAT_OPS, HUB_SECRET, LOGIN, PUBLIC_OPS, RANGE_OPS, RECEIVE, RUN_STARTED, SIGNED, SIGN_ME, SOURCES,
    SOURCE_OPS, bad_items_only, date_of, documented_refusal, is_uuid, negative, op_id, pick,
    signing_in_unconfigured, within_character_limit,
)

statuses = {}  # operationId -> Counter of the statuses it answered
OWN_TOKENS = set()  # ids of tokens made before the run (7), learnt from GET /api/v1/tokens

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
