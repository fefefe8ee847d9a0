import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { IOError, UsageError, ioError } from '../errors.js';
import { fileMode, writeFileAtomic } from '../io/output.js';
import { writeStdout } from '../io/stdout.js';
import { encodeKey } from '../keys/decode.js';
import { DEFAULT_INI_KEY, DEFAULT_INI_SECTION, findIniValue, hasIniSection, upsertIniValue } from '../keys/ini.js';
import { decodeKey } from '../keys/decode.js';
import { keyId } from '../keys/kid.js';
import { ALGS, generateKey, type Alg } from '../ops/index.js';
import { rsaKeyPair } from '../ops/keygen.js';
import { promptConfirm } from './common.js';
import type { Ui } from './ui.js';
import { withHelp } from './help.js';
import { checkUsage, KEYGEN } from './usage.js';
import { keygenAge } from './age.js';
import { ECDH_CURVES, ECDH_WRAPS, isEcdhWrap, keygenEc, type EcKeygenFlags } from './keygenEc.js';

const RSA_ALGS = ['RSA-OAEP-256', 'RSA-OAEP'] as const;
type RsaAlg = (typeof RSA_ALGS)[number];

interface KeygenFlags {
  alg: Alg | RsaAlg;
  bits?: string;
  crv?: string;
  format?: 'pem' | 'jwk';
  encoding?: 'hex' | 'base64' | 'base64url';
  json?: boolean;
  ini?: string;
  iniSection: string;
  iniKey: string;
  env?: string;
  output?: string;
  force?: boolean;
  age?: boolean;
  pq?: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const octal = (m: number): string => `0${m.toString(8).padStart(3, '0')}`;

async function mayReplace(ui: Ui, force: boolean | undefined, what: string): Promise<void> {
  if (force) return;
  if (ui.interactive && (await promptConfirm(`${what} already exists. Replace it?`))) return;
  throw new IOError(`${what} already exists; use --force to replace it`, 'ERR_EXISTS');
}

async function writeIni(path: string, section: string, name: string, value: string, o: KeygenFlags, ui: Ui): Promise<void> {
  if (!existsSync(path)) {
    const { text } = upsertIniValue('', section, name, value);
    writeFileAtomic(path, text, { mode: 0o600, overwrite: false });
    return;
  }
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = fileMode(path);
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  }
  const res = upsertIniValue(text, section, name, value);
  if (section === '' && !res.replaced && hasIniSection(text)) {
    // configparser (the seeds' Python services) stops at a name above the first section: MissingSectionHeaderError.
    throw new UsageError(`${path} has sections: a name above the first one cannot be read by Python's configparser (MissingSectionHeaderError); choose a section with --ini-section NAME`);
  }
  if (res.replaced) await mayReplace(ui, o.force, `${name} in ${path}${section ? ` [${section}]` : ''} (${kidOfOld(text, name, section, path)})`);
  // It now holds a key: nobody but the owner may read it.
  const tight = (mode & 0o700) | 0o600;
  writeFileAtomic(path, res.text, { mode: tight, overwrite: true });
  if (tight !== mode) ui.warn(`${path} was mode ${octal(mode)}; it holds a key now, so it is mode ${octal(tight)}`);
}

/** The kid of the key an .ini line holds now, for the replace question. */
function kidOfOld(text: string, name: string, section: string, path: string): string {
  try {
    const { value } = findIniValue(text, name, section, path);
    return `kid ${keyId(decodeKey(Buffer.from(value, 'utf8'), 'auto'))}`;
  } catch {
    return 'not a key aes-payload can read';
  }
}

export function registerKeygen(program: Command, ui: Ui): void {
  const cmd = program
    .command('keygen')
    .description('generate a random key (hex on stdout by default)')
    .addOption(new Option('--alg <ALG>', 'algorithm the key is for').choices([...ALGS, ...RSA_ALGS, ...ECDH_WRAPS]).default('A256GCM'))
    .addOption(new Option('--bits <N>', 'RSA modulus size (default: 3072)').choices(['2048', '3072', '4096']))
    .addOption(new Option('--crv <CRV>', 'curve of an ECDH-ES key pair (default: P-256)').choices([...ECDH_CURVES]))
    .addOption(new Option('--format <FMT>', 'key file format: a JWK (symmetric, RSA, EC or X25519), or PKCS#8 PEM (RSA, EC and X25519; the default)').choices(['pem', 'jwk']))
    .addOption(new Option('--encoding <ENC>', 'symmetric key text encoding (default: hex)').choices(['hex', 'base64', 'base64url']))
    .option('--json', 'print {"alg","kid","encoding","key"} as JSON')
    .option('--env <NAME>', 'print a shell line: export NAME=<key>')
    .option('--ini <FILE>', 'write NAME = <key> into an .ini file (created with mode 0600)')
    .option('--ini-section <S>', 'with --ini: section to write ("" for the top level: refused in a file with sections, and a file Python\'s configparser cannot read)', DEFAULT_INI_SECTION)
    .option('--ini-key <NAME>', 'with --ini: key name', DEFAULT_INI_KEY)
    .option('-o, --output <FILE>', 'write the key to FILE (mode 0600, never over an existing file)')
    .option('--force', 'replace an existing key or file')
    .option('--age', 'an age identity (AGE-SECRET-KEY-1…, as age-keygen writes it); its age1… recipient goes in a comment and on stderr')
    .option('--pq', 'with --age: a hybrid post-quantum identity (mlkem768x25519, recipient age1pq1…; Node 24.7 or later)')
    .action(async (o: KeygenFlags, self: Command) => {
      checkUsage(KEYGEN, 'flags', o);
      if (o.age) {
        checkUsage(KEYGEN, 'age', { ...o, alg: self.getOptionValueSource('alg') === 'cli' ? o.alg : undefined });
        return keygenAge(o, ui, (what) => mayReplace(ui, o.force, what));
      }
      if ((RSA_ALGS as readonly string[]).includes(o.alg)) return keygenRsa(o as KeygenFlags & { alg: RsaAlg }, ui);
      if (isEcdhWrap(o.alg)) return keygenEc(o as unknown as EcKeygenFlags, ui);
      checkUsage(KEYGEN, 'secret', o);
      const jwk = o.format === 'jwk';
      const encoding = o.encoding ?? 'hex';
      if (o.env !== undefined && !ENV_NAME.test(o.env)) throw new UsageError(`--env needs a shell variable name, not "${o.env}"`);
      const { key, kid, alg } = generateKey(o.alg as Alg);
      // An oct JWK (RFC 7517) with alg and kid, which --key-file reads back.
      const text = jwk ? JSON.stringify({ kty: 'oct', k: encodeKey(key, 'base64url'), alg, kid }) : encodeKey(key, encoding);
      try {
        if (o.ini !== undefined) {
          await writeIni(o.ini, o.iniSection, o.iniKey, text, o, ui);
          const where = o.iniSection ? ` [${o.iniSection}]` : '';
          ui.line(`wrote ${o.iniKey} to ${o.ini}${where}: ${alg} key, kid ${kid}`);
          return;
        }
        if (o.output !== undefined) {
          let overwrite = false;
          if (existsSync(o.output)) {
            await mayReplace(ui, o.force, o.output);
            overwrite = true;
          }
          writeFileAtomic(o.output, `${text}\n`, { mode: 0o600, overwrite });
          ui.line(`wrote ${alg} key to ${o.output} (mode 0600), kid ${kid}`);
          ui.hint(`use it with: aes-payload encrypt --key-file ${o.output}`);
          return;
        }
        if (o.json) {
          writeStdout(`${JSON.stringify({ alg, kid, encoding, key: text })}\n`);
        } else if (o.env !== undefined) {
          writeStdout(`export ${o.env}=${text}\n`);
        } else {
          writeStdout(`${text}\n`);
        }
        ui.line(`${alg} key, kid ${kid}`);
        ui.hint(
          o.env !== undefined
            ? `hint: eval "$(aes-payload keygen --env ${o.env})" sets it in this shell`
            : 'hint: keep it secret; pass it as env AES_PAYLOAD_KEY, or store it with --ini development.ini or -o FILE',
        );
      } finally {
        key.fill(0);
      }
    });
  withHelp(
    cmd,
    [
      'aes-payload keygen                                 # 64 hex digits on stdout, the kid on stderr',
      'eval "$(aes-payload keygen --env AES_PAYLOAD_KEY)"  # set a new key in this shell',
      'aes-payload keygen --ini development.ini           # SECRET_KEY = <hex> in [app:main]',
      'aes-payload keygen --alg RSA-OAEP-256 -o service.pem  # service.pem (0600) and service.pem.pub',
      'aes-payload keygen --age -o key.txt                # an age identity; its age1… recipient on stderr',
      'aes-payload keygen --alg ECDH-ES --crv P-256 -o ec.pem  # ec.pem (0600) and ec.pem.pub',
    ],
    'A random 96-bit GCM nonce is safe for at most 2^32 messages per key: rotate keys before that\n(generate a new key, re-encrypt, retire the old one).',
  );
}

/** RSA key pair: private key at -o FILE (0600, never over a file), public key at FILE.pub. */
function keygenRsa(o: KeygenFlags & { alg: RsaAlg }, ui: Ui): void {
  checkUsage(KEYGEN, 'rsa', o);
  const output = o.output as string; // checked: needsOutput
  const bits = Number(o.bits ?? '3072');
  const pubPath = `${output}.pub`;
  for (const p of [output, pubPath]) {
    if (existsSync(p) && !o.force) throw new IOError(`${p} already exists; use --force to replace it`, 'ERR_EXISTS');
  }
  const { priv, pub, kid } = rsaKeyPair(o.alg, bits, o.format === 'jwk' ? 'jwk' : 'pem');
  writeFileAtomic(output, priv, { mode: 0o600, overwrite: Boolean(o.force) });
  writeFileAtomic(pubPath, pub, { mode: 0o644, overwrite: Boolean(o.force) });
  ui.line(`wrote ${o.alg} RSA-${bits} private key to ${output} (mode 0600) and public key to ${pubPath}, kid ${kid}`);
  ui.hint(`encrypt with: aes-payload encrypt --format jwe --recipient ${pubPath}; decrypt with --key-file ${output}`);
}
