import type * as YAML from 'yaml';
import { loadVendored } from '../../io/vendor.js';

// The `yaml` package (eemeli/yaml), loaded only when a YAML document is met:
// everything else starts without it.

let Y: typeof YAML | undefined;

/** Load the `yaml` package (once). */
export async function loadYaml(): Promise<void> {
  Y ??= loadVendored<typeof YAML>('yaml') ?? (await import('yaml'));
}

/** The loaded `yaml` package; {@link loadYaml} must have been awaited. */
export function yaml(): typeof YAML {
  if (!Y) throw new Error('internal: loadYaml() was not awaited before a YAML document was read');
  return Y;
}

/** Whether a file name is a YAML file. */
export function isYamlFileName(name: string): boolean {
  return /\.ya?ml(\.(aesp|enc))?$/i.test(name);
}

const YAML_HINT = /^aesp:[ \t]|:[ \t]+["']?aesp:[12]:/m;

/**
 * Load the `yaml` package when an input may need it: a YAML file name, or a
 * text with a YAML header line or token. Everything else starts without it.
 */
export async function loadYamlFor(text: string | Uint8Array | undefined, file?: string, format?: string): Promise<void> {
  if (Y) return;
  if (format === 'yaml') return loadYaml();
  const t = text === undefined ? '' : typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if ((file !== undefined && isYamlFileName(file)) || YAML_HINT.test(t)) await loadYaml();
}
