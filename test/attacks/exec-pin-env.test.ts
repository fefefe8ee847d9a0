// Attack class: secrets handed on to exec's child. The variable that holds
// the HSM PIN (--pin-env NAME) must leave the child's environment, as the
// key variables do: the command gets the decrypted values, not the means to
// unlock the HSM.
import { describe, expect, it } from 'vitest';
import { run } from '../helpers.js';
import { HSM_URI, SOFTHSM_MODULE, softhsmToken } from './softhsm.js';
import { workspace } from './attack.js';

const ws = workspace();

describe('exec with an HSM key', () => {
  it('the --pin-env variable is not in the command\'s environment (unless --keep-key-env)', () => {
    const env = { ...softhsmToken(ws.dir), AES_PAYLOAD_PKCS11_MODULE: SOFTHSM_MODULE };
    const key = ['--key-uri', HSM_URI, '--pin-env', 'HSM_PIN'];
    const e = run(['encrypt', ...key], { env, input: '{"API_TOKEN":"t0k3n"}' });
    expect(e.code, e.stderr).toBe(0);
    const file = ws.file('vars.jwe', e.out);
    const show = ['--', 'sh', '-c', 'printf "%s|%s" "$API_TOKEN" "${HSM_PIN:-}"'];
    const r = run(['exec', ...key, '-f', file, ...show], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('t0k3n|');
    const kept = run(['exec', ...key, '--keep-key-env', '-f', file, ...show], { env });
    expect(kept.out).toBe('t0k3n|1234');
  });
});
