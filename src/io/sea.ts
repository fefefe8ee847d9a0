/** Whether this process is the single executable (a Node SEA build); false where node:sea is missing. */
export function isSea(): boolean {
  try {
    return (process.getBuiltinModule('node:sea') as unknown as { isSea(): boolean } | undefined)?.isSea() ?? false;
  } catch {
    return false;
  }
}
