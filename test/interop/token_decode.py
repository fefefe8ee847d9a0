#!/usr/bin/python3
"""Decrypt the field tokens of a JSON document, written only from
docs/FORMAT.md section 10, with Debian's python3-cryptography.

usage: token_decode.py KEYHEX < document.json > report.json
Prints a JSON object mapping each token's location (compact JSON) to the
decrypted value's JSON text. Exit 1 on any authentication failure.
"""
import base64, json, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64u(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def walk(value, loc, out):
    if isinstance(value, dict):
        for k, v in value.items():
            walk(v, loc + [k], out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            walk(v, loc + [i], out)
    elif isinstance(value, str) and value.startswith('aesp:1:'):
        out.append((loc, value))


def main():
    key = bytes.fromhex(sys.argv[1])
    doc = json.load(sys.stdin)
    tokens = []
    walk(doc, [], tokens)
    result = {}
    for loc, tok in tokens:
        parts = tok.split(':')
        assert len(parts) == 7, tok
        _, _, alg, kid, nonce, ct, tag = parts
        assert alg.endswith('GCM'), alg
        # compact JSON like JavaScript's JSON.stringify (ensure_ascii=False keeps UTF-8)
        where = json.dumps(loc, separators=(',', ':'), ensure_ascii=False)
        aad = ('aesp:1:%s:%s:' % (alg, kid)).encode('ascii') + where.encode('utf-8')
        try:
            pt = AESGCM(key).decrypt(b64u(nonce), b64u(ct) + b64u(tag), aad)
        except InvalidTag:
            sys.stderr.write('authentication failed at %s\n' % where)
            sys.exit(1)
        result[where] = pt.decode('utf-8')
    json.dump(result, sys.stdout, ensure_ascii=False)


main()
