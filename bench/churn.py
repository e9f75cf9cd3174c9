#!/usr/bin/env python3
"""Credential churn for bench/load.sh (standard library only).

  churn.py keys     --base-url URL --user-key KEY --rate C --seconds S
  churn.py crossnode --base-url A --other-url B --user-key KEY --rs-basic BASIC --rounds N

`keys`: while wrk introspects other keys, issues and revokes API keys of the
bench user at C changes a second (each change: one key issued, the oldest
issued one revoked), through the HTTP API as a user would, for S seconds.
Prints one line, CHURN_RESULT, with the changes made and their latencies.

`crossnode`: N times, issues a key on node A, warms node B's cache with it
(introspected until B answers from memory), revokes it on A, and polls B until
it answers inactive. Prints CROSSNODE_RESULT with p50/p99/max of the time from
A's revocation answer to B's first inactive answer (poll period 1 ms, so the
figures include up to one poll of delay).
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def call(base, method, path, headers, body=None, form=None):
    data = None
    headers = dict(headers)
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def churn(args):
    user = {"Authorization": "Api-Key " + args.user_key}
    issued = []
    latencies = []
    changes = 0
    period = 1.0 / args.rate
    deadline = time.monotonic() + args.seconds
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        started = time.monotonic()
        key = call(args.base_url, "POST", "/api/v1/api-keys", user, {"name": f"churn-{changes}"})
        issued.append(key["id"])
        if len(issued) > 1:
            call(args.base_url, "DELETE", f"/api/v1/api-keys/{issued.pop(0)}", user)
        latencies.append((time.monotonic() - started) * 1000)
        changes += 1
        next_at += period
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    achieved = changes / args.seconds
    print(
        f"CHURN_RESULT changes={changes} per_second={achieved:.1f} "
        f"p50_ms={percentile(latencies, 50):.1f} p99_ms={percentile(latencies, 99):.1f}"
    )


def active(base, basic, token):
    answer = call(base, "POST", "/oauth/introspect", {"Authorization": basic}, form={"token": token})
    return answer["active"]


def crossnode(args):
    user = {"Authorization": "Api-Key " + args.user_key}
    took = []
    for round_ in range(args.rounds):
        key = call(args.base_url, "POST", "/api/v1/api-keys", user, {"name": f"crossnode-{round_}"})
        deadline = time.monotonic() + 5
        while not active(args.other_url, args.rs_basic, key["key"]):
            if time.monotonic() > deadline:
                sys.exit("crossnode: node B never saw the new key")
            time.sleep(0.001)
        for _ in range(3):
            active(args.other_url, args.rs_basic, key["key"])
        call(args.base_url, "DELETE", f"/api/v1/api-keys/{key['id']}", user)
        revoked = time.monotonic()
        while active(args.other_url, args.rs_basic, key["key"]):
            if time.monotonic() - revoked > 5:
                sys.exit("crossnode: node B still accepts a key revoked 5 s ago")
            time.sleep(0.001)
        took.append((time.monotonic() - revoked) * 1000)
    print(
        f"CROSSNODE_RESULT rounds={len(took)} p50_ms={percentile(took, 50):.1f} "
        f"p99_ms={percentile(took, 99):.1f} max_ms={max(took):.1f}"
    )


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    keys = sub.add_parser("keys")
    keys.add_argument("--base-url", required=True)
    keys.add_argument("--user-key", required=True)
    keys.add_argument("--rate", type=float, required=True)
    keys.add_argument("--seconds", type=float, required=True)
    cross = sub.add_parser("crossnode")
    cross.add_argument("--base-url", required=True)
    cross.add_argument("--other-url", required=True)
    cross.add_argument("--user-key", required=True)
    cross.add_argument("--rs-basic", required=True)
    cross.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    try:
        churn(args) if args.mode == "keys" else crossnode(args)
    except urllib.error.HTTPError as e:
        sys.exit(f"churn: {e.code} from {e.url}: {e.read()[:300]!r}")


if __name__ == "__main__":
    main()
