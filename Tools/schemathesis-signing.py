"""Schemathesis hooks that sign requests to anker-relay as real devices (Tools/schemathesis
with ANKER_SCHEMATHESIS_SIGNED=1), so that generated requests get past authentication.

On import it creates the test-vector journal (Schemas/vectors/entries.json, pool[0] is its
genesis) on the relay at $ANKER_RELAY_URL and pushes the pool. Then, for each
request to /v1/journals/... whose four signature headers schemathesis generated well formed:

- the journal in the path is, most of the time, the vector journal;
- the body is, some of the time, a real one instead of random bytes: a genesis (the journal's,
  a new journal's, another device's, another journal's); a batch of known entries, of new
  entries by the admin, or of entries the relay refuses (never admitted, a missing parent, a
  wrong Lamport number, a removed device past its removal, a damaged signature); a list of
  known and unknown ids; a head attestation (its own, another device's, another journal's);
- `after` is, half of the time, within the journal's sequence numbers;
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
from schemathesis.core import NotSet

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
    status, body = setup_call("POST", path + "/entries", frame(POOL[1:]))
    if status != 200:
        raise SystemExit(f"schemathesis-signing: the first push failed: {status} {body!r}")


setup()


def lamport(entry):
    offset = 65
    sequence, offset = read_varint(entry, offset)
    if sequence > 1:
        offset += 32
    parents, offset = read_varint(entry, offset)
    offset += 32 * parents
    return read_varint(entry, offset)[0]


def varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def make_entry(key, journal, sequence, prev, parents, lamport_number, body=b""):
    """A signed entry (ENTRY-FORMAT.md sections 3-5) with an empty or given body."""
    parents = sorted(set(parents))
    header = (
        b"\x01" + journal + key.verify_key.encode() + varint(sequence)
        + (prev if sequence > 1 else b"") + varint(len(parents)) + b"".join(parents)
        + varint(lamport_number) + blake2b256(body) + varint(len(body))
    )
    signature = key.sign(b"anker entry signature v1\x00" + header).signature
    return header + signature + b"\x01" + body


def make_genesis(key, journal):
    """The vector genesis's body in a genesis entry of `journal` by `key`."""
    end = header_end(GENESIS)
    header = GENESIS[:1] + journal + key.verify_key.encode() + GENESIS[65:end]
    signature = key.sign(b"anker entry signature v1\x00" + header).signature
    return header + signature + GENESIS[end + 64 :]


LAMPORT = {entry_id(entry): lamport(entry) for entry in POOL}
ADMIN_CHAIN = []  # entries this run wrote as the admin, in order (each cites the previous)
ADMIN_LAST = max((e for e in POOL if author(e) == author(GENESIS)), key=lambda e: read_varint(e, 65)[0])
REMOVED_LAST = {}  # a removed device's newest pool entry
for entry in POOL:
    for removed in REMOVED:
        if author(entry) == removed.verify_key.encode().hex():
            REMOVED_LAST[removed] = entry


def next_admin_entry():
    previous = ADMIN_CHAIN[-1] if ADMIN_CHAIN else ADMIN_LAST
    sequence = read_varint(previous, 65)[0] + 1
    parents = [entry_id(previous)]
    entry = make_entry(ADMIN, JOURNAL, sequence, entry_id(previous), parents, lamport(previous) + 1)
    ADMIN_CHAIN.append(entry)
    return ADMIN_CHAIN[-50:]


def push_body():
    """A batch that exercises one of the ways the relay treats entries."""
    parent = RNG.choice(IDS)
    choice = RNG.randrange(7)
    if choice == 0:  # known entries: a no-op
        start = RNG.randrange(1, len(POOL))
        return frame(POOL[start : start + RNG.randrange(1, 40)])
    if choice == 1:  # new entries by the admin: accepted
        return frame(next_admin_entry())
    if choice == 2:  # a device that was never admitted: refused notMember
        return frame([make_entry(STRANGER, JOURNAL, 1, None, [parent], LAMPORT[parent] + 1)])
    if choice == 3:  # a parent the relay lacks: missing
        return frame([make_entry(ADMIN, JOURNAL, 1, None, [os.urandom(32)], 2)])
    if choice == 4:  # the wrong Lamport number: refused lamportMismatch
        return frame([make_entry(ADMIN, JOURNAL, 1, None, [parent], LAMPORT[parent] + 5)])
    if choice == 5 and REMOVED_LAST:  # a removed device past its removal: refused revoked
        device, last = RNG.choice(sorted(REMOVED_LAST.items(), key=lambda item: item[1]))
        return frame([make_entry(device, JOURNAL, read_varint(last, 65)[0] + 1, entry_id(last),
                                 [entry_id(last)], lamport(last) + 1)])
    # a damaged signature: refused badSignature
    entry = bytearray(make_entry(STRANGER, JOURNAL, 1, None, [parent], LAMPORT[parent] + 1))
    entry[header_end(entry) + 3] ^= 0x01
    return frame([bytes(entry)])


def real_body(operation_path, method, journal):
    """A well-formed body for the operation and the key that must sign it, or None."""
    if method == "PUT" and operation_path == "/v1/journals/{journal}":
        choice = RNG.randrange(4)
        if choice == 0:
            return GENESIS if journal == JOURNAL else make_genesis(ADMIN, journal), None
        if choice == 1:  # another genesis for the same journal id: 409 if it exists
            return make_genesis(STRANGER, journal), STRANGER
        if choice == 2:  # a genesis another device wrote: 401 badSignature
            return make_genesis(STRANGER, journal), ADMIN
        return make_genesis(ADMIN, os.urandom(32)), None  # another journal's: 400 wrongJournal
    if method == "POST" and operation_path.endswith("/entries"):
        return push_body(), None
    if method == "POST" and operation_path.endswith(("/entries/fetch", "/entries/absent")):
        ids = RNG.sample(IDS, RNG.randrange(0, 20)) + [os.urandom(32) for _ in range(RNG.randrange(0, 3))]
        return b"".join(ids), None
    if method == "PUT" and operation_path.endswith("/attestations"):
        choice = RNG.randrange(4)
        heads = RNG.sample(IDS, RNG.randrange(0, 8))
        if choice == 0:  # another device's: 400
            return attestation(STRANGER, journal, heads, 3), None
        if choice == 1:  # another journal's: 400 wrongJournal
            return attestation(ADMIN, os.urandom(32), heads, 3), None
        return attestation(ADMIN, journal, heads, RNG.randrange(0, 200)), None
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
    signer = None
    if not isinstance(case.body, NotSet) and RNG.random() < 0.6:
        real = real_body(case.operation.path, case.method.upper(), journal)
        if real is not None:
            case.body, signer = real
    if isinstance(case.query, dict) and "after" in case.query and RNG.random() < 0.5:
        case.query["after"] = RNG.randrange(0, len(POOL) + 20)

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
    key, skew, nonce = signer or ADMIN, 0, None
    if signer is not None:
        pass
    elif roll < 0.05 and REMOVED:
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
