// A SoftHSM2 token for the HSM attack tests (Debian softhsm2, with opensc's
// pkcs11-tool to make the key), as in test/keys/hsm.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const HSM_URI = 'pkcs11:token=aesp-attack;object=attack-kek;type=secret-key';

/** Make a token with one AES-256 key inside `dir`; returns the environment that finds it (PIN in HSM_PIN). */
export function softhsmToken(dir: string): Record<string, string> {
  const conf = join(dir, 'softhsm2.conf');
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const sh = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  };
  sh('softhsm2-util', ['--init-token', '--free', '--label', 'aesp-attack', '--pin', '1234', '--so-pin', '000000']);
  sh('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', 'aesp-attack', '--login', '--pin', '1234', '--keygen', '--key-type', 'AES:32', '--label', 'attack-kek', '--id', '01']);
  return { SOFTHSM2_CONF: conf, HSM_PIN: '1234' };
}
