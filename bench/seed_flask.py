#!/usr/bin/python3
"""The origin AES-GCM microservice, written from its description, to measure
the system users have today (bench/serve.mjs). Run as its README runs it,
Flask's own server: `python3 seed_flask.py PORT`. Debian python3-flask and
python3-pycryptodome. (The origin served HTTPS with an ad-hoc certificate;
here it is plain HTTP, like the other servers of the benchmark.)"""
import base64, sys
from flask import Flask, jsonify, request
from Cryptodome.Cipher import AES
from Cryptodome.Random import get_random_bytes

app = Flask(__name__)


@app.route('/oracleinvocation', methods=['POST'])
@app.route('/oracleinvocation/', methods=['POST'])
def oracle():
    data = request.get_json()['data'].encode('utf-8')
    key = get_random_bytes(32)
    cipher = AES.new(key, AES.MODE_GCM)
    ct, tag = cipher.encrypt_and_digest(data)
    b64 = lambda b: base64.b64encode(b).decode()
    return jsonify({'data': b64(ct), 'key': b64(key), 'mac': b64(tag), 'nonce': b64(cipher.nonce)})


if __name__ == '__main__':
    app.run(host='127.0.0.1', port=int(sys.argv[1]))
