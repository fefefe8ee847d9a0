import { ARMOR_BEGIN } from './armor.js';
import { MAGIC } from './header.js';
import type { Peek } from '../types.js';

/** How many bytes {@link detect} wants to see. */
export const DETECT_BYTES = 1024 + ARMOR_BEGIN.length + 2;

/**
 * Whether bytes start an age file: binary (`age-encryption.org/`) or armored
 * (white space, then the BEGIN line).
 */
export function detect(head: Uint8Array): 'binary' | 'armor' | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.subarray(0, MAGIC.length).toString('latin1') === MAGIC) return 'binary';
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  if (b.subarray(i, i + ARMOR_BEGIN.length).toString('latin1') === ARMOR_BEGIN) return 'armor';
  return undefined;
}

/**
 * The registry's rung for age files (docs/FORMAT.md §5, rung 0): the first
 * 64 bytes, and up to {@link DETECT_BYTES} only when the input starts with
 * white space (armor may follow up to 1 KiB of it).
 */
export function ageHead(peek: Peek): 'binary' | 'armor' | undefined {
  const head = peek(64);
  const k = detect(head);
  if (k || !head.length || !/^[ \t\r\n]/.test(Buffer.from(head.buffer, head.byteOffset, 1).toString('latin1'))) return k;
  return detect(peek(DETECT_BYTES));
}
