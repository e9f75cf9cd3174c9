#!/usr/bin/env python3
"""Seeds a running Trident for bench/load.sh (standard library only).

Through the HTTP API, as a real deployment would: an introspecting client (a
role holding only `tokens:introspect`), an M2M client, a user with a password
(for the login figure), a personal access token and an M2M access token.
Then API keys in bulk, straight into the database: real Trident keys
(`tri_live_` + 43 base62 characters from the OS CSPRNG + the base62 CRC32 of
what precedes it), of which only the SHA-256 digest is stored, exactly as
Trident stores them; a sample of them is written out for wrk to present.
The bulk keys are keys in use (`last_used_at` set): their first use, which
Trident writes and audits at once, is not what the figures measure.

Prints shell assignments (KEY=value) for load.sh on stdout.
"""

import argparse
import base64
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from datetime import datetime, timezone

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX = "tri_live_"
BODY_LEN = 43
CHECKSUM_LEN = 6
# Bytes >= 248 are dropped so that `b % 62` stays uniform (248 = 4 * 62).
_TO_BASE62 = bytes(ALPHABET[b % 62] for b in range(256))
_DROP = bytes(range(248, 256))


def log(msg):
    print(f"seed: {msg}", file=sys.stderr, flush=True)


def random_bodies(count):
    """`count` random base62 strings of BODY_LEN characters, from os.urandom."""
    need = count * BODY_LEN
    chars = b""
    while len(chars) < need:
        chars += os.urandom((need - len(chars)) * 33 // 32 + 64).translate(_TO_BASE62, _DROP)
    text = chars[:need].decode("ascii")
    return [text[i : i + BODY_LEN] for i in range(0, need, BODY_LEN)]


def checksum(head):
    n = zlib.crc32(head.encode("ascii"))
    out = []
    for _ in range(CHECKSUM_LEN):
        out.append(chr(ALPHABET[n % 62]))
        n //= 62
    return "".join(reversed(out))


def generate_keys(count):
    for body in random_bodies(count):
        head = PREFIX + body
        yield head + checksum(head)


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, headers=None, form=None, expect=(200, 201)):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status not in expect:
            raise SystemExit(f"seed: {method} {path} answered {status}: {text[:300]}")
        return json.loads(text) if text else None


def basic(client):
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def seed_api(api, admin_user, admin_password):
    token = api.call("POST", "/api/v1/auth/token", {"username": admin_user, "password": admin_password})
    admin = {"Authorization": "Bearer " + token["access_token"]}
    api.call(
        "POST",
        "/api/v1/roles",
        {"name": "bench-resource-server", "description": "introspects tokens", "permissions": ["tokens:introspect"]},
        admin,
    )
    resource_server = api.call("POST", "/api/v1/clients", {"name": "bench-resource-server", "roles": ["bench-resource-server"]}, admin)
    m2m = api.call("POST", "/api/v1/clients", {"name": "bench-worker", "roles": ["user"]}, admin)
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    user = api.call("POST", "/api/v1/users", {"username": "bench-user", "password": password, "roles": ["user"]}, admin)
    user_key = user["api_key"]["key"]
    pat = api.call(
        "POST",
        "/api/v1/personal-access-tokens",
        {"name": "bench-pat", "scopes": ["tokens:read"], "expires_in_days": 30},
        {"Authorization": "Api-Key " + user_key},
    )
    jwt = api.call("POST", "/oauth/token", headers={"Authorization": basic(m2m)}, form={"grant_type": "client_credentials"})
    return {
        "USER_ID": user["id"],
        "USER_NAME": "bench-user",
        "USER_PASSWORD": password,
        "USER_KEY": user_key,
        "RS_BASIC": basic(resource_server),
        "M2M_BASIC": basic(m2m),
        "PAT": pat["token"],
        "JWT": jwt["access_token"],
    }


def rows(user_id, count, sample, sample_out, now):
    """(id, digest, display_prefix, last_chars, name) per key; the first `sample` keys go to `sample_out`."""
    done = 0
    batch = 100_000
    with open(sample_out, "w") as out:
        while done < count:
            n = min(batch, count - done)
            for i, key in enumerate(generate_keys(n)):
                if done + i < sample:
                    out.write(key + "\n")
                yield (
                    uuid.uuid4(),
                    hashlib.sha256(key.encode("ascii")).digest(),
                    key[: len(PREFIX) + 4],
                    key[-4:],
                    f"bench-{done + i}",
                )
            done += n


def seed_sqlite(path, user_id, count, sample, sample_out):
    import sqlite3

    # sea-orm on sqlx-sqlite stores UUIDs as 16-byte blobs and timestamps as RFC 3339 text.
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    owner = uuid.UUID(user_id).bytes
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("PRAGMA busy_timeout = 60000")
    with conn:
        conn.executemany(
            "INSERT INTO api_keys (id, user_id, name, environment, digest, display_prefix, last_chars,"
            " scopes, created_at, expires_at, last_used_at, revoked_at, rotated_from)"
            " VALUES (?, ?, ?, 'live', ?, ?, ?, NULL, ?, NULL, ?, NULL, NULL)",
            (
                (key_id.bytes, owner, name, digest, prefix, last, now, now)
                for key_id, digest, prefix, last, name in rows(user_id, count, sample, sample_out, now)
            ),
        )
    conn.execute("ANALYZE")
    conn.close()


def seed_postgres(url, user_id, count, sample, sample_out):
    now = datetime.now(timezone.utc).isoformat()
    copy = (
        "COPY api_keys (id, user_id, name, environment, digest, display_prefix, last_chars, created_at, last_used_at)"
        " FROM STDIN"
    )
    psql = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", copy],
        stdin=subprocess.PIPE,
        text=True,
    )
    assert psql.stdin is not None
    for key_id, digest, prefix, last, name in rows(user_id, count, sample, sample_out, now):
        psql.stdin.write(f"{key_id}\t{user_id}\t{name}\tlive\t\\\\x{digest.hex()}\t{prefix}\t{last}\t{now}\t{now}\n")
    psql.stdin.close()
    if psql.wait() != 0:
        raise SystemExit("seed: COPY into PostgreSQL failed")
    subprocess.run(["psql", "-X", "-q", url, "-c", "ANALYZE"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--admin-username", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--keys", type=int, required=True, help="API keys in the database in all")
    parser.add_argument("--sample", type=int, default=1000, help="keys written out for wrk")
    parser.add_argument("--sample-out", required=True)
    args = parser.parse_args()

    api = Api(args.base_url)
    started = time.monotonic()
    values = seed_api(api, args.admin_username, args.admin_password)
    # bench-user's own key (issued on creation) counts towards the total.
    bulk = max(args.keys - 1, 1)
    sample = min(args.sample, bulk)
    if args.database_url.startswith("sqlite:"):
        path = urllib.parse.urlparse(args.database_url.replace("sqlite://", "file://", 1)).path
        seed_sqlite(path, values["USER_ID"], bulk, sample, args.sample_out)
    else:
        seed_postgres(args.database_url, values["USER_ID"], bulk, sample, args.sample_out)
    log(f"{bulk + 1} API keys in the database, {sample} presented; took {time.monotonic() - started:.1f}s")

    # The bulk keys must work like any other: check one through introspection and /me.
    with open(args.sample_out) as f:
        probe = f.readline().strip()
    answer = api.call("POST", "/oauth/introspect", headers={"Authorization": values["RS_BASIC"]}, form={"token": probe})
    if not answer.get("active") or answer.get("sub") != values["USER_ID"]:
        raise SystemExit(f"seed: a seeded key does not introspect as active: {answer}")
    api.call("GET", "/api/v1/me", headers={"Authorization": "Api-Key " + probe})

    values["KEYS_FILE"] = args.sample_out
    for name, value in values.items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
