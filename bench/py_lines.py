#!/usr/bin/env python3
"""The Python loop a user would write instead of `aes-payload encrypt --lines`:
read a line, AES-256-GCM it with a fresh random nonce, write base64 JSON.
usage: py_lines.py encrypt|decrypt KEYHEX < in > out   (prints the cryptography version on stderr)"""
import base64, json, os, sys
import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

mode, key = sys.argv[1], bytes.fromhex(sys.argv[2])
aes = AESGCM(key)
out = sys.stdout.buffer
sys.stderr.write('cryptography %s\n' % cryptography.__version__)
if mode == 'encrypt':
    for line in sys.stdin.buffer:
        nonce = os.urandom(12)
        ct = aes.encrypt(nonce, line.rstrip(b'\n'), None)
        out.write(json.dumps({'nonce': base64.b64encode(nonce).decode(), 'data': base64.b64encode(ct).decode()}).encode() + b'\n')
else:
    for line in sys.stdin.buffer:
        e = json.loads(line)
        out.write(aes.decrypt(base64.b64decode(e['nonce']), base64.b64decode(e['data']), None) + b'\n')
