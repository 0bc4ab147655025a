#!/usr/bin/env python3
"""Generates testdata/vectors/keyward-purposes.json: purpose-encoding edge cases that upstream's
own tests never exercise (purposes of 127, 128, 16 383 and 16 384 UTF-8 bytes, 64 x 'é', a
character outside the BMP, an empty purpose), for AES-256-CBC + HMACSHA256 and AES-256-GCM.

Independent of keyward's Rust code: written from the format specification (payload, AAD, SP800-108
CTR HMAC-SHA512, CBC+HMAC and GCM bodies) with Python's hashlib/hmac and the `cryptography`
package for AES. The context headers are taken from the upstream vectors in aspnetcore.json.
Deterministic: fixed key id, master key, key modifier, IV/nonce.
Run: python3 testdata/generate_purpose_vectors.py > testdata/vectors/keyward-purposes.json
"""
import base64, hashlib, hmac, json, os, struct, sys, uuid

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import padding

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = json.load(open(os.path.join(HERE, "vectors", "aspnetcore.json"), encoding="utf-8"))

KEY_ID = "7c2a6f1e-9d4b-4c3a-8e21-5b0f6d7a8c90"
MASTER = bytes(range(64))
KEY_MODIFIER = bytes.fromhex("00112233445566778899aabbccddeeff")
IV = bytes.fromhex("0f0e0d0c0b0a09080706050403020100")
NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
PLAINTEXT = "purpose edge case ✓".encode("utf-8")


def context_header(kind, enc_len, **match):
    for v in UPSTREAM["vectors"]:
        if v["kind"] == kind and v["inputs"].get("enc_key_len_bytes") == enc_len and all(
            v["inputs"].get(k) == m for k, m in match.items()
        ):
            return bytes.fromhex(v["expected"]["context_header_hex"])
    sys.exit(f"no upstream {kind} vector for {enc_len} {match}")


CBC_HEADER = context_header("context_header_cbc", 32, hmac="HMACSHA256")
GCM_HEADER = context_header("context_header_gcm", 32)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def aad(key_id, purposes):
    out = bytes.fromhex("09f0c9f0") + uuid.UUID(key_id).bytes_le + struct.pack(">I", len(purposes))
    for p in purposes:
        raw = p.encode("utf-8")
        out += varint(len(raw)) + raw
    return out


def kdf(kdk, label, context, length):
    out = b""
    i = 1
    while len(out) < length:
        data = struct.pack(">I", i) + label + b"\x00" + context + struct.pack(">I", length * 8)
        out += hmac.new(kdk, data, hashlib.sha512).digest()
        i += 1
    return out[:length]


def cbc_body(label):
    sub = kdf(MASTER, label, CBC_HEADER + KEY_MODIFIER, 64)
    k_e, k_h = sub[:32], sub[32:]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(PLAINTEXT) + padder.finalize()
    enc = Cipher(algorithms.AES(k_e), modes.CBC(IV)).encryptor()
    ct = enc.update(padded) + enc.finalize()
    mac = hmac.new(k_h, IV + ct, hashlib.sha256).digest()
    return KEY_MODIFIER + IV + ct + mac


def gcm_body(label):
    k_e = kdf(MASTER, label, GCM_HEADER + KEY_MODIFIER, 32)
    sealed = AESGCM(k_e).encrypt(NONCE, PLAINTEXT, b"")
    return KEY_MODIFIER + NONCE + sealed


EDGES = [
    ("empty purpose", ""),
    ("127 bytes (one-byte length)", "a" * 127),
    ("128 bytes (two-byte length)", "a" * 128),
    ("16 383 bytes (two-byte length)", "b" * 16383),
    ("16 384 bytes (three-byte length)", "c" * 16384),
    ("64 x U+00E9 (128 UTF-8 bytes)", "é" * 64),
    ("a character outside the BMP (a UTF-16 surrogate pair)", "key 🔑 purpose"),
]

vectors = []
for algorithm, body in (("AES_256_CBC/HMACSHA256", cbc_body), ("AES_256_GCM", gcm_body)):
    for name, purpose in EDGES:
        chain = ["edge-app", purpose, "v1"]
        label = aad(KEY_ID, chain)
        protected = bytes.fromhex("09f0c9f0") + uuid.UUID(KEY_ID).bytes_le + body(label)
        vectors.append({
            "kind": "purpose_edge_payload",
            "name": f"{algorithm}: {name}",
            "provenance": "independent Python implementation of the specification (testdata/generate_purpose_vectors.py); not produced by .NET",
            "inputs": {
                "key_id": KEY_ID,
                "master_key_hex": MASTER.hex(),
                "algorithm": algorithm,
                "purposes_full_chain": chain,
                "key_modifier_hex": KEY_MODIFIER.hex(),
                "iv_or_nonce_hex": (IV if algorithm.endswith("HMACSHA256") else NONCE).hex(),
                "plaintext_utf8": PLAINTEXT.decode("utf-8"),
            },
            "expected": {
                "aad_hex": label.hex(),
                "protected_base64url": base64.urlsafe_b64encode(protected).decode().rstrip("="),
            },
        })

json.dump({
    "description": "keyward conformance vectors, version 2: purpose-encoding edge cases for CBC and GCM. "
                   "Fields as in aspnetcore.json; see testdata/README.md.",
    "vectors": vectors,
}, sys.stdout, ensure_ascii=False, indent=1)
print()
