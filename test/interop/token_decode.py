#!/usr/bin/python3
"""Authenticate and decrypt a version-2 field document, written only from
docs/FORMAT.md sections 2.1 and 10, with Debian's python3-cryptography.

usage: token_decode.py KEYHEX < document.json > report.json
Checks the document MAC (section 10.4) before anything else, then prints a
JSON object mapping each token's location (compact JSON) to the decrypted
value's JSON text. Exit 1 on any authentication failure.
"""
import base64, hashlib, hmac, json, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fail(why):
    sys.stderr.write('authentication failed: %s\n' % why)
    sys.exit(1)


def b64u(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def hkdf(key, label, length):
    # section 2.1: empty salt (HKDF then uses HashLen zero bytes), label as info
    return HKDF(SHA256(), length, salt=None, info=label.encode('ascii')).derive(key)


def js(value):
    # section 10.3: compact JSON as ECMAScript JSON.stringify writes it
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False)


class Num(str):
    """A number kept as its text in the input (section 10.4)."""


def leaves(value, loc, out):
    if isinstance(value, dict):
        if not value:
            out.append((loc, '{}'))
        for k, v in value.items():
            leaves(v, loc + [k], out)
    elif isinstance(value, list):
        if not value:
            out.append((loc, '[]'))
        for i, v in enumerate(value):
            leaves(v, loc + [i], out)
    elif isinstance(value, Num):
        out.append((loc, str(value)))
    elif isinstance(value, str):
        out.append((loc, js(value)))
    elif value is True:
        out.append((loc, 'true'))
    elif value is False:
        out.append((loc, 'false'))
    else:
        out.append((loc, 'null'))


def main():
    key = bytes.fromhex(sys.argv[1])
    # numbers keep their text; duplicate keys are refused (section 5.1)
    def no_dups(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                sys.exit(4)
            d[k] = v
        return d
    doc = json.loads(sys.stdin.read(), parse_int=Num, parse_float=Num, object_pairs_hook=no_dups)
    header = doc.pop('aesp', None)
    if not isinstance(header, str):
        fail('no header')
    parts = header.split(':')
    if len(parts) != 7 or parts[:3] != ['aesp', '2', 'doc']:
        sys.exit(4)
    _, _, _, mode, kid, doc_id, mac = parts
    entries = []
    leaves(doc, [], entries)
    tokens = [(loc, v) for loc, v in entries if v.startswith('"aesp:2:')]
    if mode == 'enc':
        entries = tokens
    elif mode != 'all':
        sys.exit(4)
    lines = sorted(((js(loc).encode('utf-8'), '[%s,%s]\n' % (js(loc), v)) for loc, v in entries))
    m = ('aesp:2:doc:%s:%s:%s\n' % (mode, kid, doc_id)) + ''.join(line for _, line in lines)
    want = hmac.new(hkdf(key, 'aes-payload v2 document mac', 32), m.encode('utf-8'), hashlib.sha256).digest()
    if not hmac.compare_digest(want, b64u(mac)):
        fail('document MAC')
    token_key = hkdf(key, 'aes-payload v2 field token', len(key))
    result = {}
    for loc, quoted in tokens:
        tok = json.loads(quoted)
        _, _, alg, tkid, nonce, ct, tag = tok.split(':')
        assert alg.endswith('GCM') and tkid == kid, tok
        aad = ('aesp:2:%s:%s:%s:' % (alg, tkid, doc_id)).encode('ascii') + js(loc).encode('utf-8')
        try:
            pt = AESGCM(token_key).decrypt(b64u(nonce), b64u(ct) + b64u(tag), aad)
        except InvalidTag:
            fail('token at %s' % js(loc))
        result[js(loc)] = pt.decode('utf-8')
    json.dump(result, sys.stdout, ensure_ascii=False)


main()
