import { Option, type Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { IOError, KeyError, UsageError, ioError, printable, quote } from '../errors.js';
import { writeFileAtomic } from '../io/output.js';
import { loadVendored } from '../io/vendor.js';
import { KEY_CMD_ENV } from '../keys/command.js';
import { DEFAULT_KEY_ENV, DEFAULT_KEYRING_ENV, readSecretFile, secretEnvNames } from '../keys/resolve.js';
import { checkKeyLength, type Keys } from '../ops/index.js';
import { addKeyOptions, keysOf, hasKeyFlag, keyContext, resolveCliKeys, type KeyFlags } from './common.js';
import { withHelp } from './help.js';
import type { Ui } from './ui.js';
import { VERSION } from './version.js';

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
  drainTimeout: string;
  allowedHost: string[];
  trustProxy: string[];
  socketMode?: string;
  v1: boolean; // --no-v1 sets it to false
}

/** The version the build stamped (from ./version.js, which the CLI loads without this module). */
export { VERSION };

/** A repeatable option whose values may also be comma-separated. */
const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];

/** `HOST:PORT`, `[v6]:PORT` (port 0 picks a free port), or `unix:/PATH`. */
export function parseListen(s: string): { host: string; port: number } | { path: string } {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (!path.startsWith('/') || path.length > 100 || path.includes('\0')) throw new UsageError(`--listen unix: needs an absolute socket path of at most 100 bytes, not ${quote(s, 120)}`);
    return { path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535) throw new UsageError(`--listen needs HOST:PORT (for example 127.0.0.1:8443, or [::1]:0), not ${quote(s, 120)}`);
  return { host, port };
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export const int = (v: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} needs a whole number ${max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `of at least ${min}`}, not ${quote(v)}`);
  }
  return n;
};

/** The most --workers: more processes than this only add memory and context switches (docs/SERVICE.md). */
export const MAX_WORKERS = 64;

/**
 * The bearer token: visible ASCII (0x21-0x7E), at least 16 characters. From a
 * file, the whole file is the token, with at most one line ending (LF or
 * CRLF) after it: a second line, a comment or white space is refused rather
 * than guessed at.
 */
export function checkToken(raw: Buffer, where: string): Buffer {
  const text = raw.toString('latin1');
  const body = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(body)) throw new KeyError(`the ${where} has more than one line; it must hold only the token (one line, as aes-payload keygen prints it)`, 'ERR_TOKEN');
  if (body.length === 0) throw new KeyError(`the token in ${where} is empty`, 'ERR_TOKEN_MISSING');
  if (/[^\x21-\x7e]/.test(body)) throw new KeyError(`the token in ${where} has a character that is not visible ASCII (white space, a control or non-ASCII character); a token is 16 or more of ! to ~`, 'ERR_TOKEN');
  if (body.length < 16) throw new KeyError(`the token in ${where} is shorter than 16 characters; make one with: aes-payload keygen`, 'ERR_TOKEN_SHORT');
  return Buffer.from(body, 'latin1');
}

async function token(o: ServeFlags, ui: Ui): Promise<Buffer | undefined> {
  if (o.tokenEnv !== undefined && o.tokenFile !== undefined) throw new UsageError('choose one of --token-env and --token-file');
  let raw: Buffer | undefined;
  let where = '';
  if (o.tokenEnv !== undefined) {
    const v = process.env[o.tokenEnv];
    if (!v) throw new KeyError(`environment variable ${printable(o.tokenEnv)} is not set`, 'ERR_TOKEN_MISSING');
    raw = Buffer.from(v, 'utf8');
    where = `env ${printable(o.tokenEnv)}`;
  } else if (o.tokenFile !== undefined) {
    raw = readSecretFile(o.tokenFile, 'token file', keyContext(ui));
    where = `token file ${printable(o.tokenFile)}`;
  }
  if (!raw) return undefined;
  return checkToken(raw, where);
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
    .option('--listen <HOST:PORT>', 'where to listen (port 0 picks a free port), or unix:/PATH for a Unix socket', '127.0.0.1:8443')
    .option('--tls-cert <FILE>', 'TLS certificate (PEM), with --tls-key')
    .option('--tls-key <FILE>', 'TLS private key (PEM), with --tls-cert')
    .option('--tls-self-signed', 'a development certificate for localhost and 127.0.0.1, made in memory (EC P-256)')
    .option('--tls-cert-out <FILE>', 'with --tls-self-signed: write the certificate (public part) for clients to trust')
    .option('--no-tls', 'plain HTTP (the default without a TLS option; loopback only, unless --insecure)')
    .option('--token-env <NAME>', 'the bearer token that /v1/* requires, from environment variable NAME')
    .option('--token-file <FILE>', 'the bearer token, from FILE')
    .option('--max-body <BYTES>', 'largest request body; larger ones get 413', String(1024 * 1024))
    .option('--workers <N>', `processes sharing the port (node:cluster), at most ${MAX_WORKERS}`, '1')
    .option('--legacy-cbc', 'serve POST /decrypt-mac: unauthenticated AES-128-CBC, for existing clients only')
    .option('--insecure', 'allow a non-loopback address without TLS or without a token')
    .option('--headers-timeout <MS>', 'time to receive the request headers (slow clients)', '10000')
    .option('--request-timeout <MS>', 'time to receive the whole request', '30000')
    .option('--keep-alive-timeout <MS>', 'idle time before a kept-alive connection is closed', '5000')
    .addOption(new Option('--max-connections <N>', 'connections at once (more are refused)').default('1024'))
    .option('--drain-timeout <MS>', 'on SIGTERM: the longest wait for requests in progress before closing their connections', '10000')
    .option('--allowed-host <NAME>', 'a host name clients may use besides IP addresses and localhost (.example.com: subdomains too; * any); repeatable', list, [])
    .option('--trust-proxy <CIDR>', 'believe X-Forwarded-For from these peers (addresses, CIDR blocks, or unix); repeatable', list, [])
    .option('--socket-mode <MODE>', 'with --listen unix:PATH: the socket\'s permissions, octal (default 0600)')
    .option('--no-v1', 'serve no /v1 routes: only /oracleinvocation, /decrypt-mac and the operational routes (no key needed)');
  withHelp(
    cmd,
    [
      'aes-payload serve --listen 127.0.0.1:8443 --tls-self-signed --tls-cert-out dev.pem',
      'AES_PAYLOAD_KEY=… API_TOKEN=… aes-payload serve --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem --token-env API_TOKEN',
      "curl --cacert dev.pem -H 'content-type: application/json' -d '{\"data\":\"hello\"}' https://127.0.0.1:8443/oracleinvocation",
    ],
    'Routes: GET /healthz (alive), GET /readyz (ready; 503 while draining), POST /v1/encrypt, POST /v1/decrypt, POST /oracleinvocation,\n' +
      'POST /decrypt-mac (--legacy-cbc), GET /metrics. Signals: SIGTERM drains and exits 0; SIGHUP reloads the TLS files and the token file.\n' +
      'docs/SERVICE.md has the API, the exit codes and deployment recipes; SECURITY.md the exposure rules.',
  );
  addKeyOptions(cmd).action(async (o: ServeFlags) => {
    const run = await import('../serve/run.js');
    const { HostCheck, TrustedProxies } = await import('../serve/guard.js');
    const { createSecureContext } = process.getBuiltinModule('node:tls') as typeof import('node:tls');
    // A cluster worker gets everything from its primary, over IPC.
    // (getBuiltinModule returns the CommonJS exports, which the types call `default`.)
    const cluster = process.getBuiltinModule('node:cluster') as unknown as { isWorker: boolean };
    if (process.env.AES_PAYLOAD_SERVE_WORKER === '1' && cluster.isWorker) {
      run.serveWorker();
      return;
    }
    // Passphrases are refused before anything could prompt for one (a server would pay the KDF per request).
    if (o.passphrase || o.passphraseEnv !== undefined || o.passphraseFile !== undefined) {
      throw new UsageError('serve needs a key or a keyring, not a passphrase (--passphrase, --passphrase-env, --passphrase-file): deriving a key per request would be a denial of service');
    }
    const at = parseListen(o.listen);
    const workers = int(o.workers, '--workers', 1, MAX_WORKERS);
    if ('host' in at && o.socketMode !== undefined) throw new UsageError('--socket-mode is for --listen unix:/PATH; a TCP address has no file mode');
    const tk = await token(o, ui);
    const tls = await tlsMaterial(o, ui);
    if ('host' in at && !isLoopback(at.host) && (!tls || !tk) && !o.insecure) {
      const why = [!tls && 'without TLS (anyone on the path reads keys and payloads)', !tk && 'without a token (anyone who reaches it can use /v1 with the server key)'].filter(Boolean).join(' and ');
      throw new UsageError(`refusing to listen on ${printable(at.host)}, which is not a loopback address, ${why}; add ${[!tls && '--tls-cert/--tls-key', !tk && '--token-env or --token-file'].filter(Boolean).join(' and ')}, or --insecure`);
    }
    if ('path' in at && tls) throw new UsageError('--listen unix: serves plain HTTP to a local proxy; drop the TLS options');
    const mode = Number.parseInt(o.socketMode ?? '0600', 8);
    if (!/^0?[0-7]{3}$/.test(o.socketMode ?? '0600') || (mode & 0o600) !== 0o600) throw new UsageError(`--socket-mode needs an octal mode the owner can read and write (0600, 0660), not ${quote(o.socketMode)}`);
    // Checked here, before anything slow, so that a typo fails at once (exit 2).
    new HostCheck(undefined, o.allowedHost);
    new TrustedProxies(o.trustProxy);
    let keys: Keys | undefined;
    if (hasKeyFlag(o) || process.env[DEFAULT_KEY_ENV] || process.env[DEFAULT_KEYRING_ENV] || process.env[KEY_CMD_ENV]) {
      const r = await resolveCliKeys(o, ui);
      if (r.passphrase) throw new UsageError('serve needs a key or a keyring, not a passphrase: deriving a key per request would be a denial of service');
      if (r.kek) throw new UsageError('serve needs a key or a keyring, not an HSM key (--key-uri)');
      keys = keysOf(r);
    }
    if (o.legacyCbc) {
      if (!keys?.secret) throw new KeyError('--legacy-cbc needs the shared 16-byte key (A128CBC)', 'ERR_KEY_MISSING');
      checkKeyLength('A128CBC', keys.ring ? keys.ring.keys.get(keys.ring.primary)! : keys.secret);
      ui.warn('POST /decrypt-mac is unauthenticated AES-128-CBC: anyone can change such ciphertext, and the route has the shape of a padding oracle. It is for existing clients only; new clients should use /v1.');
    }
    // A server whose /v1 cannot work is a misconfiguration: refuse it at start, not per request.
    if (!keys && o.v1) throw new KeyError(`/v1/encrypt and /v1/decrypt need a key: set ${DEFAULT_KEY_ENV}, or give --key-env, --key-file, --ini or --keyring; to serve only /oracleinvocation, add --no-v1`, 'ERR_KEY_MISSING');
    if (!tk && keys && o.v1) {
      const reach = 'path' in at ? `the Unix socket ${printable(at.path)} (mode ${(o.socketMode ?? '0600').replace(/^(?=[0-7]{3}$)/, '0')})` : isLoopback(at.host) ? `${printable(at.host)} (loopback: this machine only)` : `${printable(at.host)}, which is not a loopback address`;
      ui.warn(`no token: /v1/* is open to anyone who can reach ${reach}`);
    }
    // Workers inherit the primary's environment; they get keys and the token over IPC instead.
    for (const name of secretEnvNames(o, o.tokenEnv)) delete process.env[name];
    // SIGHUP reads the TLS files and the token file again; a failure keeps what is served and says why.
    const canReload = o.tlsCert !== undefined || o.tokenFile !== undefined;
    const reload = canReload
      ? async () => {
          const t = o.tlsCert !== undefined ? await tlsMaterial(o, ui) : undefined;
          if (t) {
            try {
              createSecureContext({ cert: t.cert, key: t.key });
            } catch (e) {
              throw new Error(`the TLS certificate and key do not load together: ${(e as Error).message}`);
            }
          }
          const nt = o.tokenFile !== undefined ? await token(o, ui) : undefined;
          return { ...(t ? { tls: t } : {}), ...(nt ? { token: nt } : {}), what: [t && `the TLS certificate and key (SHA-256 fingerprint ${new X509Certificate(t.cert).fingerprint256})`, nt && 'the token file'].filter(Boolean).join(' and ') };
        }
      : undefined;
    if (tls) {
      try {
        createSecureContext({ cert: tls.cert, key: tls.key });
      } catch (e) {
        throw new KeyError(`the TLS certificate and key do not load together: ${(e as Error).message}`, 'ERR_TLS');
      }
    }
    await run.serve(
      {
        listen: 'path' in at ? { path: at.path, mode } : at,
        ...(tls ? { tls } : {}),
        ...(keys ? { keys } : {}),
        ...(tk ? { token: tk } : {}),
        maxBody: int(o.maxBody, '--max-body', 1),
        legacyCbc: Boolean(o.legacyCbc),
        v1: o.v1,
        log: !o.quiet,
        workers,
        headersTimeout: int(o.headersTimeout, '--headers-timeout', 100),
        requestTimeout: int(o.requestTimeout, '--request-timeout', 100),
        keepAliveTimeout: int(o.keepAliveTimeout, '--keep-alive-timeout', 0),
        maxConnections: int(o.maxConnections, '--max-connections', 1),
        drainTimeout: int(o.drainTimeout, '--drain-timeout', 0),
        allowedHosts: o.allowedHost,
        trustProxy: o.trustProxy,
        version: VERSION,
      },
      reload,
    );
    // The process now lives on the server; main's promise resolves, the server keeps it running.
    await new Promise<never>(() => {});
  });
}
