"""Checks what the handler delivered to Slack and to a Standard Webhooks receiver with those
clients' own libraries (slack_sdk, standardwebhooks; pinned in requirements.txt).

Input: payloads.json written by the e2e test `notify::clients`: the notifications sent, the Slack
bodies and webhook requests received, the signing secrets and the hostile values.
Usage: .tools/venv/bin/python tests/clients/check.py <payloads.json>
Exit 0 and a last line `clients: ok …` when everything holds; exit 1 listing every failure.
"""

import json
import re
import sys

from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

# Slack's documented limits for incoming-webhook messages and the blocks used.
MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_URL = 3000
# A `&` that does not start one of the three entities Slack's escaping produces: a cut entity.
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")

failures = []
STATIC_LABEL = re.compile(r"\*[A-Za-z0-9 ()/.,'-]+\*")


def check(ok, what):
    if not ok:
        failures.append(what)


def mrkdwn_texts(block):
    """Every mrkdwn text object of a block."""
    objs = []
    if isinstance(block.get("text"), dict):
        objs.append(block["text"])
    objs += block.get("fields", [])
    objs += [e for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return [o for o in objs if o.get("type") == "mrkdwn"]


def check_slack(kind, body, hostile):
    blocks = body.get("blocks", [])
    check(0 < len(blocks) <= MAX_BLOCKS, f"{kind}: {len(blocks)} blocks")
    check(0 < len(body.get("text", "")) <= MAX_TEXT, f"{kind}: fallback text length")
    for raw in blocks:
        try:
            block = Block.parse(raw)
            block.validate_json()
            # slack_sdk's model knows every member we send (nothing dropped on the way).
            check(block.to_dict() == raw, f"{kind}: slack_sdk reads {raw} as {block.to_dict()}")
        except Exception as e:  # noqa: BLE001 — any refusal by the library is a finding
            failures.append(f"{kind}: slack_sdk refuses {raw['type']} block: {e}")
            continue
        t = raw["type"]
        if t == "header":
            check(len(raw["text"]["text"]) <= MAX_HEADER, f"{kind}: header too long")
        if t == "section":
            check(len(raw.get("fields", [])) <= MAX_FIELDS, f"{kind}: too many fields")
            for f in raw.get("fields", []):
                check(len(f["text"]) <= MAX_FIELD, f"{kind}: field of {len(f['text'])} characters")
        if t == "context":
            for e in raw["elements"]:
                check(len(e.get("text", "")) <= MAX_CONTEXT_TEXT, f"{kind}: context too long")
        if t == "actions":
            for e in raw["elements"]:
                check(len(e["text"]["text"]) <= MAX_BUTTON_TEXT, f"{kind}: button text")
                check(len(e["url"]) <= MAX_BUTTON_URL, f"{kind}: button url")
        for o in mrkdwn_texts(raw):
            text = o["text"]
            check(o.get("verbatim") is True, f"{kind}: mrkdwn without verbatim: {text[:80]}")
            # mrkdwn cannot escape * _ ~ `: only our static labels may be mrkdwn, values plain_text.
            check(
                STATIC_LABEL.fullmatch(text) is not None,
                f"{kind}: an outside value may be formatted: mrkdwn {text[:80]!r}",
            )
            check("<" not in text and ">" not in text, f"{kind}: Slack markup in {text[:80]}")
            check(not BROKEN_ENTITY.search(text), f"{kind}: cut or bare entity in {text[-80:]}")
    text = json.dumps(body)
    for h in hostile:
        check(h not in text, f"{kind}: {h!r} reaches Slack unescaped")


def check_webhook(kind, hit, sent, secrets):
    body = hit["body"]
    headers = hit["headers"]
    got = None
    for secret in secrets:
        for form in (secret, secret.removeprefix("whsec_")):
            try:
                got = Webhook(form).verify(body, headers)
            except WebhookVerificationError as e:
                failures.append(f"{kind}: not verified with {form[:10]}…: {e}")
    try:
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
        failures.append(f"{kind}: verified under a wrong key")
    except WebhookVerificationError:
        pass
    tampered = body.replace('"data"', '"data" ', 1)
    try:
        Webhook(secrets[0]).verify(tampered, headers)
        failures.append(f"{kind}: a changed body still verifies")
    except WebhookVerificationError:
        pass
    if got is None:
        return
    check(headers.get("webhook-id") == sent["notificationId"], f"{kind}: webhook-id")
    check(got["type"] == sent["type"] and got["timestamp"] == sent["time"], f"{kind}: envelope")
    data = got["data"]
    check(data.get("title") == sent["title"], f"{kind}: title altered")
    shown = {k: v for k, v in data.items() if k not in ("notificationId", "severity", "title", "links")}
    check(len(shown) > 0, f"{kind}: no data")
    for k, v in shown.items():
        # Byte-exact: the same JSON type and the same value as the producer sent.
        want = sent["data"].get(k)
        check(json.dumps(v, sort_keys=True) == json.dumps(want, sort_keys=True),
              f"{kind}: data.{k} altered: {json.dumps(v)[:80]} != {json.dumps(want)[:80]}")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        p = json.load(f)
    sent = {n["type"]: n for n in p["sent"]}
    for s in p["slack"]:
        check_slack(s["type"], s["body"], p["hostile"])
    for w in p["webhook"]:
        check_webhook(w["type"], w, sent[w["type"]], p["secrets"])
    check({s["type"] for s in p["slack"]} == set(sent), "a type missing in Slack")
    check({w["type"] for w in p["webhook"]} == set(sent), "a type missing in the webhook")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"clients: ok ({len(p['slack'])} Slack messages, {len(p['webhook'])} webhooks)")


main()
