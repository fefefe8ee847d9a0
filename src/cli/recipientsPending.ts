import type { AgeRecipient } from '../formats/age/keys.js';
import type { FieldPath } from '../formats/fields/paths.js';
import { needsIdentity } from './recipients.js';

export async function addPending(_text: string, _fields: FieldPath[], _recipients: AgeRecipient[], _o: { allowMissing: boolean }): Promise<{ text: string; sealed: number }> {
  throw needsIdentity();
}
