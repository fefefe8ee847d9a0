#!/usr/bin/python3
"""JWE interop peer: Debian's python3-jwcrypto.

Reads one JSON request on stdin and writes one JSON reply on stdout.
  {"op": "encrypt", "cases": [{"alg", "enc", "key": JWK, "plaintext", "compact": bool}]}
      -> {"results": [token, ...]}
  {"op": "decrypt", "cases": [{"token", "key": JWK}]}
      -> {"results": [{"ok": true, "plaintext": str} | {"ok": false, "error": str}]}
An encrypt case may add "header": {…} members to the protected header (ECDH-ES apu/apv).
For PBES2 the JWK is {"kty":"oct","k": base64url(passphrase)}.
"""
import json, sys
from jwcrypto import jwe, jwk

ALGS = ['dir', 'A128KW', 'A192KW', 'A256KW', 'A128GCMKW', 'A192GCMKW', 'A256GCMKW',
        'RSA-OAEP', 'RSA-OAEP-256', 'PBES2-HS256+A128KW', 'PBES2-HS384+A192KW', 'PBES2-HS512+A256KW',
        'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW',
        'A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512']


def main():
    req = json.load(sys.stdin)
    out = []
    for c in req['cases']:
        key = jwk.JWK(**c['key'])
        if req['op'] == 'encrypt':
            protected = {'alg': c['alg'], 'enc': c['enc']}
            protected.update(c.get('header', {}))  # for example ECDH-ES "apu" / "apv"
            e = jwe.JWE(c['plaintext'].encode('utf8'), json.dumps(protected))
            e.allowed_algs = ALGS
            e.add_recipient(key.public() if key.has_private else key)
            out.append(e.serialize(compact=c['compact']))
        else:
            try:
                e = jwe.JWE()
                e.allowed_algs = ALGS
                e.deserialize(c['token'], key=key)
                out.append({'ok': True, 'plaintext': e.payload.decode('utf8')})
            except Exception as ex:  # report, do not crash the batch
                out.append({'ok': False, 'error': type(ex).__name__ + ': ' + str(ex)})
    json.dump({'results': out}, sys.stdout)


main()
