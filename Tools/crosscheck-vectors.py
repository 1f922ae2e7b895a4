#!/usr/bin/env python3
"""Checks Schemas/vectors/entries.json with an implementation independent of the Swift one:
its own parser for the entry format, PyNaCl (a separate libsodium binding) for Ed25519 and
XChaCha20-Poly1305, and Python's hashlib for BLAKE2b. Exits non-zero on the first disagreement.

    python3 Tools/crosscheck-vectors.py Schemas/vectors/entries.json
"""
import hashlib
import json
import sys

from nacl import bindings, signing
from nacl.exceptions import BadSignatureError

CONTEXT = b"anker entry signature v1\x00"
HINT_AD = b"anker body hint v1\x00"
CONTENT_AD = b"anker body content v1\x00"
MAX_INT = (1 << 53) - 1


class Bad(Exception):
    pass


def blake(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def padme(length, floor=1024):
    value = max(length, floor)
    e = value.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (value + mask) & ~mask


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Bad("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def varint(self):
        value, shift = 0, 0
        for index in range(9):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                if byte == 0 and index > 0:
                    raise Bad("nonCanonicalInteger")
                if value > MAX_INT:
                    raise Bad("fieldTooLarge")
                return value
            shift += 7
        raise Bad("fieldTooLarge")


def parse(data):
    """Returns (header bytes, fields, signature, body or None)."""
    r = Reader(data)
    if r.take(1)[0] != 1:
        raise Bad("unknownVersion")
    f = {"journal": r.take(32), "author": r.take(32), "sequence": r.varint()}
    if f["sequence"] < 1:
        raise Bad("invalidSequence")
    f["prev"] = r.take(32) if f["sequence"] > 1 else None
    count = r.varint()
    if count > 64:
        raise Bad("fieldTooLarge")
    f["parents"] = [r.take(32) for _ in range(count)]
    if any(a >= b for a, b in zip(f["parents"], f["parents"][1:])):
        raise Bad("parentsNotSorted")
    if f["prev"] is not None and f["prev"] not in f["parents"]:
        raise Bad("prevNotInParents")
    f["lamport"] = r.varint()
    if (f["lamport"] != 1) if not f["parents"] else (f["lamport"] < 2):
        raise Bad("invalidLamport")
    if f["sequence"] > f["lamport"]:
        raise Bad("invalidLamport")
    f["body_hash"] = r.take(32)
    f["body_length"] = r.varint()
    if f["body_length"] > 65536:
        raise Bad("fieldTooLarge")
    header = data[:r.pos]
    position = data[:r.pos - 32 - len(encode_varint(f["body_length"]))]
    signature = r.take(64)
    flag = r.take(1)[0]
    body = None
    if flag == 1:
        body = r.take(f["body_length"])
        if blake(body) != f["body_hash"]:
            raise Bad("bodyHashMismatch")
        if body:
            if body[0] == 1 and padme(len(body)) != len(body):
                raise Bad("unpaddedBody")
            if body[0] not in (1, 2):
                raise Bad("unknownBodyKind")
    elif flag == 0:
        if f["body_length"] == 0:
            raise Bad("invalidBodyFlag")
    else:
        raise Bad("invalidBodyFlag")
    if r.pos != len(data):
        raise Bad("trailingBytes")
    return header, position, f, signature, body


def encode_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def unpad(data):
    index = len(data) - 1
    while index >= 0 and data[index] == 0:
        index -= 1
    if index < 0 or data[index] != 0x80:
        raise Bad("invalidPadding")
    return data[:index]


def check_valid(vector, seeds):
    entry = bytes.fromhex(vector["entry"])
    header, position, fields, signature, body = parse(entry)
    name = vector["name"]
    if blake(header + signature).hex() != vector["id"]:
        raise Bad(f"{name}: id differs")
    author = fields["author"]
    if author.hex() in seeds:
        key = signing.SigningKey(bytes.fromhex(seeds[author.hex()]))
        if bytes(key.verify_key) != author:
            raise Bad(f"{name}: seed does not give the author key")
        if key.sign(CONTEXT + header).signature != signature:
            raise Bad(f"{name}: signature is not the deterministic Ed25519 signature")
    try:
        signing.VerifyKey(author).verify(CONTEXT + header, signature)
    except BadSignatureError:
        raise Bad(f"{name}: signature does not verify")
    h = vector["header"]
    for key in ("sequence", "lamport", "body_length"):
        if fields[key] != h[key]:
            raise Bad(f"{name}: {key} differs")
    if [p.hex() for p in fields["parents"]] != h["parents"]:
        raise Bad(f"{name}: parents differ")
    sealed = vector.get("sealed")
    if sealed:
        epoch = body[1:5]
        ref = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body[29:77], HINT_AD + position + epoch, body[5:29], bytes.fromhex(sealed["epoch_key"]))
        if ref.hex() != sealed["key_ref"]:
            raise Bad(f"{name}: key hint differs")
        padded = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body[101:], CONTENT_AD + position + epoch + ref, body[77:101],
            bytes.fromhex(sealed["content_key"]))
        if unpad(padded).hex() != sealed["plaintext"]:
            raise Bad(f"{name}: plaintext differs")
        if len(body) != padme(len(sealed["plaintext"]) // 2 + 118):
            raise Bad(f"{name}: body is not in its Padmé bucket")


def check_invalid(vector):
    """Decode-stage failures must fail this parser with the same code; verify-stage ones must
    parse but not verify."""
    entry = bytes.fromhex(vector["entry"])
    stage, error = vector["stage"], vector["error"]
    try:
        header, _, fields, signature, _ = parse(entry)
    except Bad as failure:
        if stage != "decode":
            raise Bad(f"{vector['name']}: parser rejected a {stage}-stage vector ({failure})")
        # Control-body structure is not re-implemented here; the kind byte is.
        if str(failure) != error and error not in ("malformedControl", "trailingBytes", "truncated"):
            raise Bad(f"{vector['name']}: expected {error}, parser said {failure}")
        return
    if stage == "decode":
        if error in ("malformedControl", "trailingBytes", "truncated"):
            return  # inside a control body
        raise Bad(f"{vector['name']}: parser accepted a decode-stage vector")
    if stage == "verify":
        claimed = vector.get("id")
        if claimed and claimed != blake(header + signature).hex():
            return
        try:
            signing.VerifyKey(fields["author"]).verify(CONTEXT + header, signature)
        except BadSignatureError:
            return
        raise Bad(f"{vector['name']}: signature verified")


def main():
    data = json.load(open(sys.argv[1]))
    seeds = {k["public"]: k["seed"] for k in data["keys"]}
    for vector in data["valid"]:
        check_valid(vector, seeds)
    for vector in data["invalid"]:
        check_invalid(vector)
    for entry in data["pool"]:
        parse(bytes.fromhex(entry))
    print(f"crosscheck: {len(data['valid'])} valid and {len(data['invalid'])} invalid vectors "
          f"agree with PyNaCl and an independent parser")


if __name__ == "__main__":
    try:
        main()
    except Bad as failure:
        print(f"crosscheck: error: {failure}", file=sys.stderr)
        sys.exit(1)
