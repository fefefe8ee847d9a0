import { Option } from 'commander';

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
