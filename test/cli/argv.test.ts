// No option anywhere takes a secret on argv, and FORCE_COLOR/NO_COLOR follow the rules.
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { stderrColorLevel, Ui } from '../../src/cli/ui.js';
import { run } from '../helpers.js';

// Every option that takes a value, and why its value is not a secret.
const ALLOWED: Record<string, string> = {
  '--alg': 'an algorithm name',
  '--encoding': 'an encoding name',
  '--format': 'a format name',
  '--key-encoding': 'an encoding name',
  '--env': 'an environment variable name',
  '--key-env': 'an environment variable name',
  '--key-file': 'a file name',
  '--ini': 'a file name',
  '--ini-section': 'a section name',
  '--ini-key': 'a key name',
  '--output': 'a file name',
  '--aad': 'additional authenticated data, which is not secret',
  '--wrap': 'a JWE key management algorithm name',
  '--recipient': 'a public key file name',
  '--recipients-file': 'a file of public keys',
  '--kid': 'a key id, which is public',
  '--allow-alg': 'a list of algorithm names',
  '--bits': 'an RSA modulus size',
  '--crv': 'a curve name',
  '--apu': 'ECDH-ES party information, which the JWE header carries in clear',
  '--apv': 'ECDH-ES party information, which the JWE header carries in clear',
  '--passphrase-env': 'an environment variable name',
  '--passphrase-file': 'a file name',
  '--keyring': 'a file name',
  '--fields': 'a list of field paths',
  '--on-error': 'skip, stop or record',
  '--require': 'a list of field paths',
  '--expect-kid': 'a key id, which is public',
  '--to-key-env': 'an environment variable name',
  '--to-key-file': 'a file name',
  '--listen': 'an address and port',
  '--key-cmd': 'a command that prints the key (the command line is not secret)',
  '--key-cmd-timeout': 'a time',
  '--extract': 'a field path',
  '--input-type': 'a document type',
  '--file': 'a file name (exec)',
  '--nonce-bytes': 'a nonce length, 12 or 16',
  '--value-format': 'a field value format name',
  '--key-uri': 'an RFC 7512 URI naming an HSM key (a PIN in it is refused)',
  '--pkcs11-module': 'a file name',
  '--pin-env': 'an environment variable name',
  '--tls-cert': 'a file name (a public certificate)',
  '--tls-key': 'a file name (the key stays in the file)',
  '--tls-cert-out': 'a file name',
  '--token-env': 'an environment variable name',
  '--token-file': 'a file name',
  '--max-body': 'a size',
  '--workers': 'a count',
  '--headers-timeout': 'a time',
  '--request-timeout': 'a time',
  '--keep-alive-timeout': 'a time',
  '--max-connections': 'a count',
  '--drain-timeout': 'a time',
  '--allowed-host': 'host names clients use',
  '--trust-proxy': 'addresses of proxies',
  '--socket-mode': 'a file mode',
  '--nats': 'NATS server URLs (a user, password or token in them is refused: NATS_URL or --nats-creds)',
  '--nats-creds': 'a file name',
  '--stream': 'a stream name',
  '--in': 'a subject',
  '--out': 'a subject',
  '--dead-letter': 'a subject',
  '--durable': 'a consumer name',
  '--batch': 'a count',
  '--max-ack-pending': 'a count',
  '--ack-wait': 'a time',
  '--metrics-listen': 'an address and port',
  '--identity': 'an age identity file name (the key stays in the file)',
  '--identity-env': 'an environment variable name (the identities stay in the environment)',
  '--config': 'a file name (the rules file, .aes-payload.yaml)',
  '--command': 'how git calls aes-payload (a program path, written to git config)',
};

describe('argv', () => {
  it('no option takes a secret value', async () => {
    const program = await buildProgram(new Ui({}));
    const seen = new Set<string>();
    for (const cmd of [program, ...program.commands]) {
      for (const opt of cmd.options) {
        if (!opt.required && !opt.optional) continue; // a boolean flag
        const name = opt.long!;
        seen.add(name);
        expect(ALLOWED[name], `${cmd.name()} ${name} takes a value that is not known to be non-secret`).toBeDefined();
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(10);
  });
});

describe('colour rules', () => {
  it('no colour off a TTY, NO_COLOR wins over a TTY, FORCE_COLOR wins over both', () => {
    expect(stderrColorLevel({}, false)).toBe(0);
    expect(stderrColorLevel({ NO_COLOR: '1' }, true)).toBe(0);
    expect(stderrColorLevel({ NO_COLOR: '' }, false)).toBe(0);
    expect(stderrColorLevel({ FORCE_COLOR: '1' }, false)).toBe(1);
    expect(stderrColorLevel({ FORCE_COLOR: '3', NO_COLOR: '1' }, false)).toBe(3);
    expect(stderrColorLevel({ FORCE_COLOR: '0' }, true)).toBe(0);
  });

  it('FORCE_COLOR colours the CLI error line even through a pipe', () => {
    const r = run(['encrypt'], { input: 'x', env: { FORCE_COLOR: '1' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^\x1b\[31maes-payload:\x1b\[39m /);
  });
});
