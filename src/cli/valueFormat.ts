import { Option } from 'commander';
import { KeyError } from '../errors.js';

/**
 * `--value-format token|origin` (with `--fields`): aes-payload's field
 * tokens under a document MAC (the default), or the origin FX services'
 * bare base64 values (docs/FORMAT.md §14), chosen explicitly, never detected.
 */
export function valueFormatOption(what: 'read' | 'write'): Option {
  return new Option(
    '--value-format <FORMAT>',
    what === 'write'
      ? "with --fields: token (default: aesp: tokens under a document MAC) or origin (the FX peers' base64(iv+ct) or base64(nonce+ct+tag), NOT authenticated as a document)"
      : "with --fields: origin reads the FX peers' base64(iv+ct) or base64(nonce+ct+tag) values at those paths (never detected)",
  ).choices(['token', 'origin']);
}

/**
 * With `--value-format origin`: a key text of 32 or 64 hex digits that
 * `--key-encoding auto` read as hex. The FX peers use such text as the key
 * itself (32 bytes of UTF-8), so the values would not open there.
 */
export function originHexKeyWarning(hexDigits: number | undefined): string | undefined {
  if (hexDigits === undefined) return undefined;
  const bytes = hexDigits / 2;
  return `the key text is ${hexDigits} hex digits, read as a ${bytes}-byte key; the FX peers use the text itself as the key (${hexDigits} bytes): pass --key-encoding utf8 (or --key-encoding hex to keep this reading)`;
}

/** A key-length error, told that the FX peers take the key text itself (`--key-encoding utf8`), when that may be why. */
export function keyLengthHint(e: unknown, hexDigits: number | undefined, origin: boolean): unknown {
  if (!(e instanceof KeyError) || e.code !== 'ERR_KEY_LENGTH' || e.message.includes('--key-encoding')) return e;
  // Outside origin mode, only when the text itself would have the length needed (32 hex digits for a 32-byte key).
  const need = /needs (\d+) bytes/.exec(e.message)?.[1];
  if (!origin && (hexDigits === undefined || Number(need) !== hexDigits)) return e;
  const why = hexDigits !== undefined ? `the key text (${hexDigits} hex digits) was read as hex` : 'the key text was decoded';
  return new KeyError(`${e.message}; ${why}: if the peer uses the text itself as the key, pass --key-encoding utf8`, e.code);
}
