import { Option, type Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { checkKeyLength } from '../crypto/aead.js';
import { IOError, KeyError, UsageError, ioError } from '../errors.js';
import { writeFileAtomic } from '../io/output.js';
import { loadVendored } from '../io/vendor.js';
import { KEY_CMD_ENV } from '../keys/command.js';
import { DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, readSecretFile, secretEnvNames } from '../keys/resolve.js';
import type { Keys } from '../payload.js';
import { addKeyOptions, keysOf, hasKeyFlag, keyContext, resolveCliKeys, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';

interface ServeFlags extends KeyFlags {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
  tlsCertOut?: string;
  tls: boolean; // --no-tls sets it to false
  tokenEnv?: string;
  tokenFile?: string;
  maxBody: string;
  workers: string;
  legacyCbc?: boolean;
  insecure?: boolean;
  quiet?: boolean;
  headersTimeout: string;
  requestTimeout: string;
  keepAliveTimeout: string;
  maxConnections: string;
}

/** `HOST:PORT`, `[v6]:PORT`; port 0 picks a free port. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535) throw new UsageError(`--listen needs HOST:PORT (for example 127.0.0.1:8443, or [::1]:0), not ${JSON.stringify(s)}`);
  return { host, port };
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

const int = (v: string, name: string, min: number): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} needs a whole number of at least ${min}, not ${JSON.stringify(v)}`);
  return n;
};

async function token(o: ServeFlags, ui: Ui): Promise<Buffer | undefined> {
  if (o.tokenEnv !== undefined && o.tokenFile !== undefined) throw new UsageError('choose one of --token-env and --token-file');
  let raw: Buffer | undefined;
  let where = '';
  if (o.tokenEnv !== undefined) {
    const v = process.env[o.tokenEnv];
    if (!v) throw new KeyError(`environment variable ${o.tokenEnv} is not set`, 'ERR_TOKEN_MISSING');
    raw = Buffer.from(v, 'utf8');
    where = `env ${o.tokenEnv}`;
  } else if (o.tokenFile !== undefined) {
    raw = readSecretFile(o.tokenFile, 'token file', keyContext(ui));
    where = `token file ${o.tokenFile}`;
  }
  if (!raw) return undefined;
  const t = Buffer.from(raw.toString('utf8').replace(/\r?\n$/, ''), 'utf8');
  if (t.length < 16) throw new KeyError(`the token in ${where} is shorter than 16 characters; make one with: aes-payload keygen`, 'ERR_TOKEN_SHORT');
  if (/\s/.test(t.toString('utf8'))) throw new KeyError(`the token in ${where} has white space in it`, 'ERR_TOKEN');
  return t;
}

async function tlsMaterial(o: ServeFlags, ui: Ui): Promise<{ cert: string; key: string } | undefined> {
  const modes = [o.tlsCert !== undefined || o.tlsKey !== undefined, Boolean(o.tlsSelfSigned), !o.tls].filter(Boolean).length;
  if (modes > 1) throw new UsageError('choose one of --tls-cert/--tls-key, --tls-self-signed and --no-tls');
  if (o.tlsCertOut !== undefined && !o.tlsSelfSigned) throw new UsageError('--tls-cert-out needs --tls-self-signed');
  if (o.tlsCert !== undefined || o.tlsKey !== undefined) {
    if (o.tlsCert === undefined || o.tlsKey === undefined) throw new UsageError('--tls-cert and --tls-key go together');
    let cert: string;
    try {
      cert = readFileSync(o.tlsCert, 'utf8');
    } catch (e) {
      throw ioError(e, `cannot read ${o.tlsCert}`);
    }
    const key = readSecretFile(o.tlsKey, 'TLS key', keyContext(ui)).toString('utf8');
    return { cert, key };
  }
  if (!o.tlsSelfSigned) return undefined;
  // selfsigned (on Node's own WebCrypto) loads only here.
  const { generate } = loadVendored<typeof import('selfsigned')>('selfsigned') ?? (await import('selfsigned'));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  } as Parameters<typeof generate>[1]);
  ui.line(`aes-payload: self-signed development certificate for localhost and 127.0.0.1, SHA-256 fingerprint ${new X509Certificate(pems.cert).fingerprint256}`);
  if (o.tlsCertOut !== undefined) {
    try {
      writeFileAtomic(o.tlsCertOut, pems.cert, { mode: 0o644, overwrite: true });
    } catch (e) {
      throw e instanceof IOError ? e : ioError(e, `cannot write ${o.tlsCertOut}`);
    }
    ui.line(`aes-payload: wrote the certificate (public part only) to ${o.tlsCertOut}; trust it with: curl --cacert ${o.tlsCertOut}`);
  }
  return { cert: pems.cert, key: pems.private };
}

export function registerServe(program: Command, ui: Ui): void {
  const cmd = program
    .command('serve')
    .description('serve the origin microservices\' routes and an authenticated JSON API over HTTP(S)')
    .option('--listen <HOST:PORT>', 'where to listen; port 0 picks a free port', '127.0.0.1:8443')
    .option('--tls-cert <FILE>', 'TLS certificate (PEM), with --tls-key')
    .option('--tls-key <FILE>', 'TLS private key (PEM), with --tls-cert')
    .option('--tls-self-signed', 'a development certificate for localhost and 127.0.0.1, made in memory (EC P-256)')
    .option('--tls-cert-out <FILE>', 'with --tls-self-signed: write the certificate (public part) for clients to trust')
    .option('--no-tls', 'plain HTTP (the default without a TLS option; loopback only, unless --insecure)')
    .option('--token-env <NAME>', 'the bearer token that /v1/* requires, from environment variable NAME')
    .option('--token-file <FILE>', 'the bearer token, from FILE')
    .option('--max-body <BYTES>', 'largest request body; larger ones get 413', String(1024 * 1024))
    .option('--workers <N>', 'processes sharing the port (node:cluster)', '1')
    .option('--legacy-cbc', 'serve POST /decrypt-mac: unauthenticated AES-128-CBC, for existing clients only')
    .option('--insecure', 'allow a non-loopback address without TLS or without a token')
    .option('--headers-timeout <MS>', 'time to receive the request headers (slow clients)', '10000')
    .option('--request-timeout <MS>', 'time to receive the whole request', '30000')
    .option('--keep-alive-timeout <MS>', 'idle time before a kept-alive connection is closed', '5000')
    .addOption(new Option('--max-connections <N>', 'connections at once (more are refused)').default('1024'));
  withHelp(
    cmd,
    [
      'aes-payload serve --listen 127.0.0.1:8443 --tls-self-signed --tls-cert-out dev.pem',
      'AES_PAYLOAD_KEY=… API_TOKEN=… aes-payload serve --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem --token-env API_TOKEN',
      "curl --cacert dev.pem -H 'content-type: application/json' -d '{\"data\":\"hello\"}' https://127.0.0.1:8443/oracleinvocation",
    ],
    'Routes: GET /healthz, POST /v1/encrypt, POST /v1/decrypt, POST /oracleinvocation, POST /decrypt-mac (--legacy-cbc), GET /metrics.\n' +
      'docs/SERVICE.md has the API; SECURITY.md the exposure rules.',
  );
  addKeyOptions(cmd).action(async (o: ServeFlags) => {
    const run = await import('../serve/run.js');
    // A cluster worker gets everything from its primary, over IPC.
    // (getBuiltinModule returns the CommonJS exports, which the types call `default`.)
    const cluster = process.getBuiltinModule('node:cluster') as unknown as { isWorker: boolean };
    if (process.env.AES_PAYLOAD_SERVE_WORKER === '1' && cluster.isWorker) {
      run.serveWorker();
      return;
    }
    const { host, port } = parseListen(o.listen);
    const workers = int(o.workers, '--workers', 1);
    const tk = await token(o, ui);
    const tls = await tlsMaterial(o, ui);
    if (!isLoopback(host) && (!tls || !tk) && !o.insecure) {
      const why = [!tls && 'without TLS (anyone on the path reads keys and payloads)', !tk && 'without a token (anyone who reaches it can use /v1 with the server key)'].filter(Boolean).join(' and ');
      throw new UsageError(`refusing to listen on ${host}, which is not a loopback address, ${why}; add ${[!tls && '--tls-cert/--tls-key', !tk && '--token-env or --token-file'].filter(Boolean).join(' and ')}, or --insecure`);
    }
    let keys: Keys | undefined;
    if (hasKeyFlag(o) || process.env[DEFAULT_KEY_ENV] || process.env[DEFAULT_KEYRING_ENV] || process.env[KEY_CMD_ENV]) {
      const r = await resolveCliKeys(o, ui);
      if (r.passphrase) throw new UsageError('serve needs a key or a keyring, not a passphrase (deriving one per request would be a denial of service)');
      if (r.kek) throw new UsageError('serve needs a key or a keyring, not an HSM key (--key-uri)');
      keys = keysOf(r);
    }
    if (o.legacyCbc) {
      if (!keys?.secret) throw new KeyError('--legacy-cbc needs the shared 16-byte key (A128CBC)', 'ERR_KEY_MISSING');
      checkKeyLength('A128CBC', keys.ring ? keys.ring.keys.get(keys.ring.primary)! : keys.secret);
      ui.warn('POST /decrypt-mac is unauthenticated AES-128-CBC: anyone can change such ciphertext, and the route has the shape of a padding oracle. It is for existing clients only; new clients should use /v1.');
    }
    if (!keys) ui.warn('no key configured: /v1/encrypt and /v1/decrypt answer 400 ERR_KEY_MISSING');
    if (!tk && keys) ui.warn('no token: /v1/* is open to anyone who can reach this address (loopback)');
    // Workers inherit the primary's environment; they get keys and the token over IPC instead.
    for (const name of secretEnvNames(o, o.tokenEnv)) delete process.env[name];
    run.serve({
      host,
      port,
      ...(tls ? { tls } : {}),
      ...(keys ? { keys } : {}),
      ...(tk ? { token: tk } : {}),
      maxBody: int(o.maxBody, '--max-body', 1),
      legacyCbc: Boolean(o.legacyCbc),
      log: !o.quiet,
      workers,
      headersTimeout: int(o.headersTimeout, '--headers-timeout', 100),
      requestTimeout: int(o.requestTimeout, '--request-timeout', 100),
      keepAliveTimeout: int(o.keepAliveTimeout, '--keep-alive-timeout', 0),
      maxConnections: int(o.maxConnections, '--max-connections', 1),
    });
    // The process now lives on the server; main's promise resolves, the server keeps it running.
    await new Promise<never>(() => {});
  });
}
