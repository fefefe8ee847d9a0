#!/usr/bin/python3
"""Interop peer for aes-payload tests: real Debian python3-cryptography and
python3-pycryptodome (imported as Cryptodome), written from docs/FORMAT.md.

usage: peer.py COMMAND KEYHEX [ARG]  (payload on stdin, result on stdout)
  gcm-json-decrypt KEY        our version-2 JSON envelope -> plaintext (cryptography HKDF + AESGCM)
  gcm-raw-decrypt KEY         our raw GCM line -> plaintext (cryptography AESGCM)
  hs-json-decrypt KEY         our version-2 CBC-HS JSON envelope -> plaintext (HKDF, hmac + cryptography CBC)
  origin-gcm-decrypt          our --random-key output -> plaintext, exactly as the origin's clients do (pycryptodome)
  origin-gcm-encrypt          plaintext -> origin {data,key,mac,nonce} (pycryptodome default GCM)
  origin-cbc-encrypt KEYTEXT  plaintext -> base64(iv + ct), key = utf8 bytes of KEYTEXT (pycryptodome)
  origin-cbc-decrypt KEYTEXT  base64(iv + ct) -> plaintext (pycryptodome)
  mac-client KEYHEX           a MAC address on stdin -> {"encrypted_mac","salt"}, as the origin's CBC client sends it
  http-post URL               POST the stdin JSON with http.client; prints STATUS then the body
  batch                       many of the above in one process: stdin is a JSON list of
                              [COMMAND, ARG..., STDIN_BASE64]; stdout a JSON list of
                              {"out": BASE64} or {"error": TEXT}, one per call
"""
import base64, hashlib, hmac, json, struct, sys

def b64(s):
    return base64.b64decode(s, validate=True)

def envelope_key_and_aad(key, env):
    # docs/FORMAT.md 2.1 and 3.1: the envelope key is derived; alg and kid are in the AAD
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    assert env['v'] == 2, env
    ke = HKDF(SHA256(), len(key), salt=None, info=b'aes-payload v2 envelope').derive(key)
    aad = ('aes-payload v2 envelope:%s:%s:' % (env['alg'], env.get('kid', ''))).encode('ascii')
    if 'aad' in env:
        aad += b64(env['aad'])
    return ke, aad

class Out:
    def __init__(self):
        self.parts = []
    def write(self, b):
        self.parts.append(b)

def main():
    if sys.argv[1] == 'batch':
        results = []
        for call in json.loads(sys.stdin.buffer.read()):
            out = Out()
            try:
                run(call[0], call[:-1], base64.b64decode(call[-1]), out)
                results.append({'out': base64.b64encode(b''.join(out.parts)).decode()})
            except BaseException as e:  # one failed call (SystemExit included) does not hide the others
                results.append({'error': '%s: %s' % (type(e).__name__, e)})
        sys.stdout.write(json.dumps(results))
        return
    run(sys.argv[1], sys.argv[1:], sys.stdin.buffer.read(), sys.stdout.buffer)

def run(cmd, argv, data, out):
    sys.argv = [sys.argv[0]] + argv
    if cmd == 'gcm-json-decrypt':
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        key = bytes.fromhex(sys.argv[2])
        env = json.loads(data)
        assert env['alg'].endswith('GCM'), env
        ke, aad = envelope_key_and_aad(key, env)
        out.write(AESGCM(ke).decrypt(b64(env['nonce']), b64(env['data']) + b64(env['mac']), aad))
    elif cmd == 'gcm-raw-decrypt':
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        key = bytes.fromhex(sys.argv[2])
        raw = b64(data.strip())
        out.write(AESGCM(key).decrypt(raw[:12], raw[12:], None))
    elif cmd == 'hs-json-decrypt':
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives import padding
        key = bytes.fromhex(sys.argv[2])
        env = json.loads(data)
        key, aad = envelope_key_and_aad(key, env)
        half = len(key) // 2
        mac_key, enc_key = key[:half], key[half:]
        h = {16: hashlib.sha256, 24: hashlib.sha384, 32: hashlib.sha512}[half]
        iv, ct, tag = b64(env['nonce']), b64(env['data']), b64(env['mac'])
        m = hmac.new(mac_key, aad + iv + ct + struct.pack('>Q', len(aad) * 8), h).digest()[:half]
        if not hmac.compare_digest(m, tag):
            sys.exit('MAC mismatch')
        d = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
        padded = d.update(ct) + d.finalize()
        u = padding.PKCS7(128).unpadder()
        out.write(u.update(padded) + u.finalize())
    elif cmd == 'origin-gcm-encrypt':
        from Cryptodome.Cipher import AES
        from Cryptodome.Random import get_random_bytes
        key = get_random_bytes(32)
        c = AES.new(key, AES.MODE_GCM)  # pycryptodome's default: a 16-byte random nonce
        ct, tag = c.encrypt_and_digest(data)
        enc = lambda b: base64.b64encode(b).decode()
        out.write(json.dumps({'data': enc(ct), 'key': enc(key), 'mac': enc(tag), 'nonce': enc(c.nonce)}).encode())
    elif cmd == 'origin-gcm-decrypt':
        from Cryptodome.Cipher import AES
        env = json.loads(data)
        c = AES.new(b64(env['key']), AES.MODE_GCM, nonce=b64(env['nonce']))
        out.write(c.decrypt_and_verify(b64(env['data']), b64(env['mac'])))
    elif cmd == 'origin-cbc-encrypt':
        from Cryptodome.Cipher import AES
        from Cryptodome.Random import get_random_bytes
        from Cryptodome.Util.Padding import pad
        key = sys.argv[2].encode('utf-8')
        iv = get_random_bytes(16)
        ct = AES.new(key, AES.MODE_CBC, iv).encrypt(pad(data, 16))
        out.write(base64.b64encode(iv + ct) + b'\n')
    elif cmd == 'origin-cbc-decrypt':
        from Cryptodome.Cipher import AES
        from Cryptodome.Util.Padding import unpad
        key = sys.argv[2].encode('utf-8')
        raw = b64(data.strip())
        out.write(unpad(AES.new(key, AES.MODE_CBC, raw[:16]).decrypt(raw[16:]), 16))
    elif cmd == 'mac-client':
        from Cryptodome.Cipher import AES
        from Cryptodome.Random import get_random_bytes
        from Cryptodome.Util.Padding import pad
        salt = get_random_bytes(16)
        ct = AES.new(bytes.fromhex(sys.argv[2]), AES.MODE_CBC, salt).encrypt(pad(data.strip(), 16))
        out.write(json.dumps({'encrypted_mac': base64.b64encode(ct).decode(), 'salt': base64.b64encode(salt).decode()}).encode())
    elif cmd == 'http-post':
        import http.client, urllib.parse
        u = urllib.parse.urlparse(sys.argv[2])
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)  # a hang backstop only
        c.request('POST', u.path, body=data, headers={'Content-Type': 'application/json'})
        r = c.getresponse()
        out.write(('%d\n' % r.status).encode() + r.read())
    else:
        sys.exit('unknown command ' + cmd)

main()
