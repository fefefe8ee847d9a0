#!/usr/bin/python3
"""An aes-payload stream decoder written only from docs/FORMAT.md section 9,
with Debian's python3-cryptography. Proves the spec is enough.

usage: stream_decode.py KEYHEX < stream > plaintext
Exit 0 on success; 1 on any authentication failure; 4 on a malformed header.
Plaintext is written only after each chunk authenticates.
"""
import base64, hmac, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b'AESPSTRM'
BEGIN = b'-----BEGIN AES-PAYLOAD STREAM-----'
END = b'-----END AES-PAYLOAD STREAM-----'


def fail(code, why):
    sys.stderr.write(why + '\n')
    sys.exit(code)


def dearmor(data):
    lines = data.replace(b'\r\n', b'\n').split(b'\n')
    while lines and lines[0].strip() == b'':
        lines.pop(0)
    if not lines or lines[0] != BEGIN:
        fail(4, 'no BEGIN line')
    body = []
    for i, line in enumerate(lines[1:], 1):
        if line == END:
            if any(l.strip() for l in lines[i + 1:]):
                fail(4, 'data after END')
            break
        body.append(line)
    else:
        fail(4, 'no END line')
    for line in body[:-1]:
        if len(line) != 64:
            fail(4, 'bad armor line length')
    return base64.b64decode(b''.join(body), validate=True)


def hkdf(key, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


def main():
    key = bytes.fromhex(sys.argv[1])
    data = sys.stdin.buffer.read()
    if data.lstrip().startswith(BEGIN):
        data = dearmor(data)
    if len(data) < 68 or data[:8] != MAGIC:
        fail(4, 'not a stream')
    if data[8] != 1:
        fail(4, 'version')
    alg, L, reserved = data[9], data[10], data[11]
    if alg not in (1, 3) or not 12 <= L <= 24 or reserved != 0:
        fail(4, 'bad header field')
    if len(key) != (16 if alg == 1 else 32):
        fail(3, 'key length')
    H, salt, mac = data[:36], data[20:36], data[36:68]
    kh = hkdf(key, salt, b'aes-payload stream v1 header', 32)
    kp = hkdf(key, salt, b'aes-payload stream v1 payload' + H, len(key))
    if not hmac.compare_digest(hmac.new(kh, H, 'sha256').digest(), mac):
        fail(1, 'header MAC')
    gcm = AESGCM(kp)
    size = (1 << L) + 16
    body = data[68:]
    n = max(1, -(-len(body) // size))
    out = sys.stdout.buffer
    for i in range(n):
        c = body[i * size:(i + 1) * size]
        last = i == n - 1
        if len(c) < 16 or (last and len(c) == 16 and i > 0):
            fail(1, 'truncated')
        nonce = i.to_bytes(11, 'big') + (b'\x01' if last else b'\x00')
        try:
            p = gcm.decrypt(nonce, c, None)
        except InvalidTag:
            fail(1, 'chunk %d' % i)
        out.write(p)


main()
