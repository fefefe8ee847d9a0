import { FormatError, UsageError, quote } from '../../errors.js';
import { parseEnv } from './dotenv.js';
import { parseJsonSpans } from '../common/jsonSpans.js';
import { parsePaths, select } from './paths.js';

/**
 * One value of a decrypted document (`decrypt --extract PATH`, as sops
 * `--extract` and `dotenvx get`): PATH in the syntax of `--fields`, which
 * must select exactly one value. A string comes back as its text; anything
 * else as its JSON, as written. In a .env document PATH is a variable name.
 *
 * @example
 * ```ts
 * extractValue('{"db":{"password":"hunter2","port":5432}}', 'db.password', 'json'); // 'hunter2'
 * extractValue('{"db":{"password":"hunter2","port":5432}}', 'db', 'json'); // '{"password":"hunter2","port":5432}'
 * ```
 */
export function extractValue(text: string, path: string, type: 'json' | 'env'): string {
  const paths = parsePaths(path);
  if (paths.length !== 1) throw new UsageError('--extract takes one path');
  const p = paths[0]!;
  if (type === 'env') {
    const seg = p.segments[0];
    if (p.segments.length !== 1 || !seg || !('key' in seg)) throw new UsageError(`--extract on a .env document takes a variable name, not ${quote(p.text, 60)}`);
    const e = parseEnv(text, 'the plaintext').entries.find((x) => x.name === seg.key);
    if (!e) throw new FormatError(`--extract ${quote(p.text, 60)}: no such variable`, 'ERR_PATH_MISSING');
    return e.value;
  }
  let root;
  try {
    root = parseJsonSpans(text, 'the plaintext');
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`--extract needs a JSON or .env plaintext: ${e.message}`, 'ERR_NOT_JSON');
    throw e;
  }
  const found = select(root, p);
  if (found.length === 0) throw new FormatError(`--extract ${quote(p.text, 60)} matches nothing`, 'ERR_PATH_MISSING');
  if (found.length > 1) throw new UsageError(`--extract ${quote(p.text, 60)} matches ${found.length} values; name one`);
  const node = found[0]!.node;
  return node.kind === 'string' ? node.value : text.slice(node.start, node.end);
}
