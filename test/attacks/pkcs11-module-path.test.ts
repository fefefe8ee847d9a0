// Attack class: a library loaded on a key URI's say. A `module-path=` in a
// pkcs11: URI would make aes-payload load any shared library into the
// process that holds the keys, whatever --pkcs11-module or
// AES_PAYLOAD_PKCS11_MODULE name. The README names only those two, so the
// URI attribute is refused (exit 2) before anything is loaded.
import { describe, expect, it } from 'vitest';
import { run } from '../helpers.js';
import { HSM_URI, SOFTHSM_MODULE, softhsmToken } from './softhsm.js';
import { refused, workspace } from './attack.js';

const ws = workspace();

describe('the PKCS#11 module comes from --pkcs11-module or the environment only', () => {
  it('module-path= (or module-name=) in the URI is refused, even when it names a library that works', () => {
    const env = softhsmToken(ws.dir);
    const configured = { ...env, AES_PAYLOAD_PKCS11_MODULE: '/nonexistent/configured.so' };
    for (const attr of [`module-path=${SOFTHSM_MODULE}`, 'module-name=softhsm2']) {
      const line = refused(run(['encrypt', '--key-uri', `${HSM_URI}?${attr}`, '--pin-env', 'HSM_PIN'], { env: configured, input: 'x' }), 2);
      expect(line).toMatch(/module-(path|name)/);
      expect(line).toMatch(/--pkcs11-module/);
      refused(run(['encrypt', '--key-uri', `${HSM_URI}?${attr}`, '--pkcs11-module', '/nonexistent/flag.so', '--pin-env', 'HSM_PIN'], { env, input: 'x' }), 2);
    }
    // The configured module is the one used.
    const ok = run(['encrypt', '--key-uri', HSM_URI, '--pin-env', 'HSM_PIN'], { env: { ...env, AES_PAYLOAD_PKCS11_MODULE: SOFTHSM_MODULE }, input: 'x' });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('a key URI names each attribute once', () => {
  it.each(['token=a;object=k;token=b', 'object=k;object=other', 'token=a;object=k;id=%01;id=%02'])('pkcs11:%s is refused (exit 2), not read last-wins', (attrs) => {
    const line = refused(run(['encrypt', '--key-uri', `pkcs11:${attrs}`, '--pkcs11-module', '/nonexistent.so', '--pin-env', 'P'], { env: { P: '1' }, input: 'x' }), 2);
    expect(line).toMatch(/more than once/);
  });
});
