#!/usr/bin/python3
"""The origin seed systems' own Python code, as their users run it, with
Debian's python3-pycryptodome (imported as Cryptodome), for aes-payload's
interop tests. Nothing here is written from aes-payload's docs: these are the
services' functions.

Seed 000, the AES-GCM service: a hex SECRET_KEY in development.ini, and
pycryptodome's defaults, AES.new(key, AES.MODE_GCM), whose random nonce is
16 bytes; messages travel as b64(nonce || ct || tag).

Seed 002, the FX services: chosen attributes, or whole nested structures
(json.dumps(data)), each as base64(iv || AES-CBC-PKCS7(ct)) under a shared
key whose 32 ASCII characters are the AES-256 key; the GCM variant writes
b64(nonce || ct || tag) the same way.

usage: seeds.py < jobs.json > results.json
  jobs: [[FUNCTION, ARG, ...], ...]; bytes travel as {"b64": "..."}.
  results: [{"ok": VALUE} | {"error": "ExceptionName: message"}, ...]
One process runs a whole batch, so a test spawns Python once.
"""
import base64, configparser, json, sys

from Cryptodome.Cipher import AES
from Cryptodome.Random import get_random_bytes
from Cryptodome.Util.Padding import pad, unpad

# ---- seed 000: the AES-GCM service --------------------------------------

def load_key(ini_path, section='app:main'):
    config = configparser.ConfigParser()
    config.read(ini_path)
    return bytes.fromhex(config[section]['SECRET_KEY'])

def encrypt_message(plaintext, key):
    cipher = AES.new(key, AES.MODE_GCM)  # pycryptodome's default: a 16-byte random nonce
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return base64.b64encode(cipher.nonce + ciphertext + tag).decode('ascii')

def decrypt_message(token, key):
    raw = base64.b64decode(token)
    nonce, ciphertext, tag = raw[:16], raw[16:-16], raw[-16:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    return cipher.decrypt_and_verify(ciphertext, tag)

def encrypt_with_ini(plaintext, ini_path):
    return encrypt_message(plaintext, load_key(ini_path))

def decrypt_with_ini(token, ini_path):
    return decrypt_message(token, load_key(ini_path))

# ---- seed 002: the FX services ------------------------------------------

FX_KEY = '39b96ec8e9f303bfbb14917b232866d5'

def encrypt_value(data, key=FX_KEY):
    if not isinstance(data, str):
        data = json.dumps(data)
    iv = get_random_bytes(AES.block_size)
    cipher = AES.new(key.encode('utf-8'), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(pad(data.encode('utf-8'), AES.block_size))).decode('utf-8')

def _loads(data):
    # Whole structures went in as json.dumps(data) and come back as objects.
    if data[:1] in ('{', '['):
        try:
            return json.loads(data)
        except ValueError:
            pass
    return data

def decrypt_value(enc, key=FX_KEY):
    raw = base64.b64decode(enc)
    cipher = AES.new(key.encode('utf-8'), AES.MODE_CBC, raw[:AES.block_size])
    return _loads(unpad(cipher.decrypt(raw[AES.block_size:]), AES.block_size).decode('utf-8'))

def encrypt_value_gcm(data, key=FX_KEY, nonce_len=None):
    if not isinstance(data, str):
        data = json.dumps(data)
    if nonce_len is None:
        cipher = AES.new(key.encode('utf-8'), AES.MODE_GCM)  # 16-byte nonce
    else:
        cipher = AES.new(key.encode('utf-8'), AES.MODE_GCM, nonce=get_random_bytes(nonce_len))
    ct, tag = cipher.encrypt_and_digest(data.encode('utf-8'))
    return base64.b64encode(cipher.nonce + ct + tag).decode('utf-8')

def decrypt_value_gcm(enc, key=FX_KEY, nonce_len=16):
    raw = base64.b64decode(enc)
    cipher = AES.new(key.encode('utf-8'), AES.MODE_GCM, nonce=raw[:nonce_len])
    return _loads(cipher.decrypt_and_verify(raw[nonce_len:-16], raw[-16:]).decode('utf-8'))

def encrypt_fields(doc, fields, key=FX_KEY, gcm=False):
    out = dict(doc)
    for f in fields:
        out[f] = encrypt_value_gcm(out[f], key) if gcm else encrypt_value(out[f], key)
    return out

def decrypt_fields(doc, fields, key=FX_KEY, gcm=False):
    out = dict(doc)
    for f in fields:
        out[f] = decrypt_value_gcm(out[f], key) if gcm else decrypt_value(out[f], key)
    return out

# ---- test helpers (not seed code) ---------------------------------------

def cbc_plaintext_bytes(enc, key=FX_KEY):
    """The exact bytes inside an FX CBC value, to compare with json.dumps."""
    raw = base64.b64decode(enc)
    return unpad(AES.new(key.encode('utf-8'), AES.MODE_CBC, raw[:16]).decrypt(raw[16:]), 16)

def dumps_loads(text):
    """json.dumps(json.loads(text)): what Python writes for a JSON value."""
    return json.dumps(json.loads(text))

# ---- batch driver --------------------------------------------------------

def _in(x):
    if isinstance(x, dict) and set(x) == {'b64'}:
        return base64.b64decode(x['b64'])
    return x

def _out(x):
    if isinstance(x, bytes):
        return {'b64': base64.b64encode(x).decode('ascii')}
    return x

FUNCTIONS = {f.__name__: f for f in (load_key, encrypt_message, decrypt_message, encrypt_with_ini, decrypt_with_ini,
                                      encrypt_value, decrypt_value, encrypt_value_gcm, decrypt_value_gcm,
                                      encrypt_fields, decrypt_fields, cbc_plaintext_bytes, dumps_loads)}

def main():
    results = []
    for name, *args in json.load(sys.stdin):
        try:
            results.append({'ok': _out(FUNCTIONS[name](*[_in(a) for a in args]))})
        except Exception as e:  # reported per job, so one failure does not hide the others
            results.append({'error': '%s: %s' % (type(e).__name__, e)})
    json.dump(results, sys.stdout)

main()
