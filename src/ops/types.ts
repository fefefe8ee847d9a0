import type { Alg } from '../crypto/algs.js';
import type { KdfBudget } from '../crypto/kdf.js';
import type { AesPayloadError } from '../errors.js';
import type { FieldPath } from '../formats/fields/paths.js';
import type { MacMode } from '../formats/fields/token.js';
import type { JweWrap } from '../formats/jwe/algs.js';
import type { RawNonceLength } from '../formats/raw/codec.js';

/** The options and results of the operations (the library API's types). */

export type EncryptFormat = 'json' | 'raw' | 'jwe' | 'jwe-json';
export type DecryptFormat = 'auto' | EncryptFormat | 'fields' | 'env' | 'yaml';

/** What a document for field encryption is: JSON, a .env file or YAML (docs/FORMAT.md §10, §12, §13). */
export type InputType = 'json' | 'env' | 'yaml';

/** Length of the salt that prefixes raw output made with a passphrase. */
export const RAW_SALT_LEN = 16;
/** Nonce length of the origin microservice's envelopes (pycryptodome's GCM default). */
export const ORIGIN_NONCE_LEN = 16;

export interface EncryptOptions {
  /** Content algorithm. Default: the GCM variant matching the key length. */
  alg?: Alg;
  /** Additional authenticated data, recorded in the envelope as `aad`. */
  aad?: Uint8Array | string;
  /** `json` (default), `raw`, `jwe` or `jwe-json`. */
  format?: EncryptFormat;
  /**
   * Write the origin microservice's `{data,key,mac,nonce}` with the key in it
   * (`--random-key`): the output is then not secret.
   */
  embedKey?: boolean;
  /** JWE key management (`alg`); see {@link jweEncrypt}. */
  wrap?: JweWrap;
  /** JWE: the `kid` to write instead of the key's own. */
  kid?: string;
  /** JWE ECDH-ES: Agreement PartyUInfo / PartyVInfo, written as `apu` / `apv`. */
  apu?: Uint8Array;
  apv?: Uint8Array;
  /** Encrypt only these values of a JSON document, each into a field token. */
  fields?: FieldPath[];
  /** With `fields`: a path that matches nothing is not an error. */
  allowMissing?: boolean;
  /** With `fields`: the document MAC covers the encrypted values only (`--mac-only-encrypted`). */
  macOnlyEncrypted?: boolean;
  /** With `fields`: the document is JSON (default), a .env text (whose `fields` are names, with globs) or YAML. */
  inputType?: InputType;
  /** Raw AES-GCM output: the nonce length, 12 (default) or 16 (pycryptodome's default; `--nonce-bytes`). */
  nonceBytes?: RawNonceLength;
  /**
   * With `fields`: `token` (default) writes field tokens under a document
   * MAC; `origin` writes each value as the FX peers do, bare
   * `base64(iv ‖ ct)` (A*CBC) or `base64(nonce ‖ ct ‖ tag)` (A*GCM), with
   * no document MAC (docs/FORMAT.md §14).
   */
  valueFormat?: ValueFormat;
}

/** How `--fields` writes each value: an aes-payload token, or the origin peers' bare base64. */
export type ValueFormat = 'token' | 'origin';

export interface EncryptResult {
  /** The encoded output, without a trailing newline. */
  text: string;
  alg: Alg;
  /** Absent for passphrase-derived keys, whose key differs per message. */
  kid?: string;
  /** JWE only: the key management algorithm. */
  wrap?: JweWrap;
  /** Field encryption: values encrypted now, and selected values already encrypted. */
  fields?: { encrypted: number; already: number };
  /** Things the person should know (origin field values that will not come back with their JSON type). */
  notes?: string[];
}

export interface DecryptOptions {
  /** Expected algorithm; required for raw input that is not GCM of the key's size, and for legacy plain-CBC envelopes. */
  alg?: Alg;
  /** Additional authenticated data; overrides the envelope's `aad`. */
  aad?: Uint8Array | string;
  format?: DecryptFormat;
  /** Use the key carried inside the origin's `{data,key,mac,nonce}` envelope. */
  embeddedKey?: boolean;
  /** JWE: when given, every `alg` and `enc` must be in this set. */
  allowAlg?: ReadonlySet<string>;
  /** JWE: cap on the inflated size of `zip: "DEF"` payloads. */
  maxInflated?: number;
  /** Decrypt only the field tokens at these paths (default: every token, when the input is a field document). */
  fields?: FieldPath[];
  /** With `fields`: a plaintext value at those paths is not an error. */
  allowPlaintext?: boolean;
  /** With `fields`: a path that matches nothing is not an error. */
  allowMissing?: boolean;
  /** Read version-1 envelopes and field documents, and envelopes with no version (aes-payload 0.1 and earlier). */
  allowLegacy?: boolean;
  /** A run's budget of passphrase work, shared by many inputs (the CLI makes one per run). */
  kdfBudget?: KdfBudget;
  /** Raw AES-GCM input: the nonce length, 12 (default) or 16 (pycryptodome's default; `--nonce-bytes`). */
  nonceBytes?: RawNonceLength;
  /** With `fields`: `origin` reads the values the FX peers write (see {@link EncryptOptions.valueFormat}); never detected. */
  valueFormat?: ValueFormat;
}

export type DecryptedFormat = EncryptFormat | 'fields' | 'env' | 'yaml';

export interface DecryptResult {
  plaintext: Buffer;
  alg?: Alg;
  kid?: string;
  format: DecryptedFormat;
  wrap?: JweWrap;
  /** Field tokens decrypted (format `fields`). */
  fields?: number;
  /** Field documents: what the document MAC covered (`all` or `enc`); absent for legacy documents. */
  mac?: MacMode;
  /** The input was a legacy version (read with `allowLegacy`). */
  legacy?: boolean;
  /**
   * Field documents: where the decrypted tokens were. When the document MAC
   * covers the encrypted values only (`mac` `enc`) or there is none (legacy),
   * these are the only values that were authenticated.
   */
  tokenPaths?: (string | number)[][];
}

export interface VerifyResult {
  ok: boolean;
  alg?: Alg;
  kid?: string;
  format?: DecryptedFormat;
  /** JWE only: the key management algorithm. */
  wrap?: JweWrap;
  /** Why verification failed; never contains key material or plaintext. */
  error?: AesPayloadError;
}
