import { Option } from 'commander';
import type { RawNonceLength } from '../ops/index.js';

/**
 * `--nonce-bytes 12|16`: the AES-GCM nonce length of raw input and output
 * (docs/FORMAT.md §4), for peers that use pycryptodome's default 16-byte
 * nonce (`AES.new(key, AES.MODE_GCM)`).
 */
export function nonceBytesOption(what: 'read' | 'write' | 'both'): Option {
  const verb =
    what === 'read'
      ? 'of raw input and of origin field values (--value-format origin)'
      : what === 'write'
        ? 'to write in raw output and in origin field values (--value-format origin)'
        : 'of raw input and output';
  return new Option('--nonce-bytes <N>', `AES-GCM nonce length ${verb}: 12 (default) or 16 (pycryptodome's default)`).choices(['12', '16']);
}

/** The option's value as a number, spread into the payload options. */
export function nonceBytesOf(v: string | undefined): { nonceBytes?: RawNonceLength } {
  return v === undefined ? {} : { nonceBytes: Number(v) as RawNonceLength };
}
