/**
 * Bech32 (BIP 173) without the 90-character limit, as age uses it for keys:
 * all upper or all lower case, the checksum over the lower-case form.
 */
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const b = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((b >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v >> from) return undefined;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined;
  }
  return out;
}

/** Encode `data` with human-readable part `hrp` (lower case output). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const h = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true)!;
  const chk = polymod([...hrpExpand(h), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const sum: number[] = [];
  for (let i = 0; i < 6; i++) sum.push((chk >>> (5 * (5 - i))) & 31);
  return `${h}1${[...words, ...sum].map((w) => CHARSET[w]).join('')}`;
}

/** Decode a Bech32 string: its hrp (as written, upper or lower case) and data, or a reason. */
export function bech32Decode(s: string): { hrp: string; data: Buffer } | { error: string } {
  if (s.length > 10_000) return { error: 'too long' };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return { error: 'invalid character' };
  }
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return { error: 'mixed case' };
  const pos = s.lastIndexOf('1');
  if (pos < 1 || pos + 7 > s.length) return { error: 'separator misplaced' };
  const hrp = s.slice(0, pos);
  const lower = s.toLowerCase();
  const words: number[] = [];
  for (const ch of lower.slice(pos + 1)) {
    const v = CHARSET.indexOf(ch);
    if (v < 0) return { error: 'invalid character' };
    words.push(v);
  }
  if (polymod([...hrpExpand(hrp.toLowerCase()), ...words]) !== 1) return { error: 'invalid checksum' };
  const data = convertBits(words.slice(0, -6), 5, 8, false);
  if (!data) return { error: 'invalid padding' };
  return { hrp, data: Buffer.from(data) };
}
