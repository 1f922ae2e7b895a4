"""Schemathesis hooks that sign requests to anker-relay as real devices (Tools/schemathesis
with ANKER_SCHEMATHESIS_SIGNED=1), so that generated requests get past authentication.

On import it creates the test-vector journal (Schemas/vectors/entries.json, pool[0] is its
genesis) on the relay at $ANKER_RELAY_URL and pushes the first half of the pool. Then, for each
request to /v1/journals/... whose four signature headers schemathesis generated well formed:

- the journal in the path is, most of the time, the vector journal;
- the body is, some of the time, a real one (the genesis, a slice of the pool, a list of known
  and unknown ids, a head attestation) instead of random bytes;
- the request is signed (RELAY-PROTOCOL.md section 5) mostly by the genesis author (an admin),
  sometimes by a device the pool removed (403 revoked), an unknown device (401 unknownDevice),
  with a time 10 minutes off (401 staleTime) or with a nonce used before (401 replayed).

Requests with a missing or malformed signature header, or a malformed journal id, are sent as
generated, so schemathesis's negative tests keep their meaning. The keys are the vectors' test
keys, made from fixed seeds: never use them for anything else.
"""

import hashlib
import json
import os
import random
import re
import struct
import time
import urllib.error
import urllib.request

import nacl.signing
import requests
import schemathesis

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
ORIGIN = os.environ["ANKER_RELAY_URL"].rstrip("/")
VECTORS = json.load(open(os.path.join(ROOT, "Schemas/vectors/entries.json")))
SEEDS = {k["public"]: bytes.fromhex(k["seed"]) for k in VECTORS["keys"]}
POOL = [bytes.fromhex(h) for h in VECTORS["pool"]]
RNG = random.Random(int(os.environ.get("ANKER_SCHEMATHESIS_SEED", "0") or 0))
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SIGNATURE_HEADERS = {
    "anker-device": re.compile(r"^[0-9a-f]{64}$"),
    "anker-time": re.compile(r"^[0-9]{1,20}$"),
    "anker-nonce": re.compile(r"^[0-9a-f]{32}$"),
    "anker-signature": re.compile(r"^[0-9a-f]{128}$"),
}


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def text(value):
    data = value.encode()
    return struct.pack(">I", len(data)) + data


def read_varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, offset


def header_end(entry):
    """Where an entry's header ends (ENTRY-FORMAT.md section 3)."""
    offset = 65
    sequence, offset = read_varint(entry, offset)
    if sequence > 1:
        offset += 32
    parents, offset = read_varint(entry, offset)
    offset += 32 * parents
    _, offset = read_varint(entry, offset)  # lamport
    offset += 32  # body hash
    _, offset = read_varint(entry, offset)  # body length
    return offset


def entry_id(entry):
    return blake2b256(entry[: header_end(entry) + 64])


def author(entry):
    return entry[33:65].hex()


def control_kind(entry):
    end = header_end(entry) + 64
    if entry[end] == 1 and len(entry) > end + 2 and entry[end + 1] == 2:
        return entry[end + 2]
    return None


def control_target(entry):
    """The device a deviceRemoved names."""
    body = entry[header_end(entry) + 65 :]
    offset = 2
    _, offset = read_varint(body, offset)
    _, offset = read_varint(body, offset)
    return body[offset : offset + 32].hex()


GENESIS = POOL[0]
JOURNAL = GENESIS[1:33]
ADMIN = nacl.signing.SigningKey(SEEDS[author(GENESIS)])
IDS = [entry_id(entry) for entry in POOL]
REMOVED = [
    nacl.signing.SigningKey(SEEDS[control_target(e)])
    for e in POOL
    if control_kind(e) == 3 and control_target(e) in SEEDS
]
STRANGER = nacl.signing.SigningKey(bytes(range(32)))
USED_NONCES = []


def signature_headers(key, method, path_with_query, body, journal, *, skew_ms=0, nonce=None):
    """The four headers of RELAY-PROTOCOL.md section 5."""
    now = int(time.time() * 1000) + skew_ms
    nonce = os.urandom(16) if nonce is None else nonce
    message = (
        b"anker request v1\x00"
        + text(ORIGIN)
        + journal
        + text(method.upper())
        + text(path_with_query)
        + blake2b256(body)
        + struct.pack(">Q", now)
        + nonce
    )
    return {
        "anker-device": key.verify_key.encode().hex(),
        "anker-time": str(now),
        "anker-nonce": nonce.hex(),
        "anker-signature": key.sign(message).signature.hex(),
    }


def frame(parts):
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def attestation(key, journal, heads, count):
    heads = sorted(set(heads))[:256]
    statement = (
        journal
        + key.verify_key.encode()
        + struct.pack(">QQI", int(time.time() * 1000), count, len(heads))
        + b"".join(heads)
    )
    signature = key.sign(b"anker head attestation v1\x00" + statement).signature
    return statement + signature


def resign_genesis(journal):
    """The vector genesis for another journal id, signed again by its author."""
    end = header_end(GENESIS)
    header = GENESIS[:1] + journal + GENESIS[33:end]
    signature = ADMIN.sign(b"anker entry signature v1\x00" + header).signature
    return header + signature + GENESIS[end + 64 :]


def setup_call(method, path, body=b""):
    headers = signature_headers(ADMIN, method, path, body, JOURNAL)
    request = urllib.request.Request(
        ORIGIN + path, data=body if method in ("PUT", "POST") else None, method=method,
        headers=headers,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def setup():
    path = "/v1/journals/" + JOURNAL.hex()
    status, body = setup_call("PUT", path, GENESIS)
    if status not in (200, 201):
        raise SystemExit(f"schemathesis-signing: creating the journal failed: {status} {body!r}")
    status, body = setup_call("POST", path + "/entries", frame(POOL[1 : len(POOL) // 2]))
    if status != 200:
        raise SystemExit(f"schemathesis-signing: the first push failed: {status} {body!r}")


setup()


def real_body(operation_path, method, journal):
    """A well-formed body for the operation, or None to keep the generated one."""
    if method == "PUT" and operation_path == "/v1/journals/{journal}":
        return GENESIS if journal == JOURNAL else resign_genesis(journal)
    if method == "POST" and operation_path.endswith("/entries"):
        start = RNG.randrange(1, len(POOL))
        return frame(POOL[start : start + RNG.randrange(1, 40)])
    if method == "POST" and operation_path.endswith(("/entries/fetch", "/entries/absent")):
        ids = RNG.sample(IDS, RNG.randrange(0, 20)) + [os.urandom(32) for _ in range(RNG.randrange(0, 3))]
        return b"".join(ids)
    if method == "PUT" and operation_path.endswith("/attestations"):
        return attestation(ADMIN, journal, RNG.sample(IDS, RNG.randrange(0, 8)), RNG.randrange(0, 200))
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.operation.path.startswith("/v1/journals/"):
        return
    headers = case.headers or {}
    if not all(isinstance(headers.get(name), str) and pattern.match(headers[name])
               for name, pattern in SIGNATURE_HEADERS.items()):
        return
    parameters = case.path_parameters or {}
    journal_hex = parameters.get("journal")
    if not isinstance(journal_hex, str) or not HEX64.match(journal_hex):
        return
    if RNG.random() < 0.8:
        journal_hex = JOURNAL.hex()
        parameters["journal"] = journal_hex
    journal = bytes.fromhex(journal_hex)
    if "id" in parameters and isinstance(parameters["id"], str) and HEX64.match(parameters["id"]):
        if RNG.random() < 0.6:
            parameters["id"] = RNG.choice(IDS).hex()
    if isinstance(case.body, (bytes, bytearray)) and RNG.random() < 0.6:
        body = real_body(case.operation.path, case.method.upper(), journal)
        if body is not None:
            case.body = body

    # The request exactly as it will go out: its path with query and its body bytes.
    data = case.as_transport_kwargs(base_url=ORIGIN)
    prepared = requests.Request(
        method=data["method"], url=data["url"], params=data.get("params"),
        data=data.get("data"), json=data.get("json"), headers=data.get("headers"),
    ).prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()

    roll = RNG.random()
    key, skew, nonce = ADMIN, 0, None
    if roll < 0.05 and REMOVED:
        key = RNG.choice(REMOVED)
    elif roll < 0.10:
        key = STRANGER
    elif roll < 0.15:
        skew = RNG.choice([-1, 1]) * 600_000
    elif roll < 0.20 and USED_NONCES:
        nonce = RNG.choice(USED_NONCES)
    signed = signature_headers(key, case.method, prepared.path_url, body, journal, skew_ms=skew, nonce=nonce)
    if nonce is None and len(USED_NONCES) < 64:
        USED_NONCES.append(bytes.fromhex(signed["anker-nonce"]))
    case.headers.update(signed)
