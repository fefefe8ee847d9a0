/**
 * `encrypt --fields PATHS -r age1…`: a field document encrypted to age
 * recipients (src/ops/recipients.ts). Wiring only.
 */
import { UsageError } from '../errors.js';
import { sameRecipients } from '../ops/recipientEdits.js';
import type { AgeRecipient } from '../ops/age.js';
import { asAlg } from './common.js';
import { inputTypeOf, emit, terminalHint } from './common.js';
import { checkOutput } from '../io/output.js';
import { MAX_PAYLOAD_BYTES, readAllOf } from '../io/input.js';
import { Source } from '../io/source.js';
import { yamlReader, type FieldPath } from '../ops/documents.js';
import { encryptOpened, encryptToRecipients, recipientsSyntax } from '../ops/recipients.js';
import { hasAgeIdentity } from './age.js';
import { documentRecipients, openRecipientInput } from './recipients.js';
import { addPending } from './recipientsPending.js';
import { checkUsage, ENCRYPT } from './usage.js';
import type { EncryptFlags } from './request.js';
import type { Ui } from './ui.js';

/** encrypt's flags, as the recipients paths take them (src/cli/request.ts). */
export type RecipientEncryptFlags = EncryptFlags;

/** `given`: the recipients of a new document when no -r/-R names them (a rule's, src/cli/recipientsRules.ts). */
export async function encryptFieldsToRecipients(file: string | undefined, fields: FieldPath[], o: EncryptFlags, ui: Ui, given?: { recipients: AgeRecipient[]; origin: string }): Promise<void> {
  const recipients = given?.recipients ?? documentRecipients(o);
  checkOutput(file, o.output, Boolean(o.force));
  terminalHint(file, ui);
  const text = readAllOf(Source.open(file), MAX_PAYLOAD_BYTES).data.toString('utf8');
  const alg = asAlg(o.alg);
  const opts = { fields, allowMissing: Boolean(o.allowMissing), macOnlyEncrypted: Boolean(o.macOnlyEncrypted), ...(alg ? { alg } : {}) };
  let out: string;
  let note: string;
  if (recipientsSyntax(text)) {
    if (!hasAgeIdentity(o)) {
      // A writer with public keys only: the new values are pending (FORMAT.md §17.5).
      const r = await addPending(text, fields, recipients, { allowMissing: Boolean(o.allowMissing) });
      emit(r.text, { output: o.output, force: o.force, mode: 0o666 });
      ui.line(`sealed ${r.sealed} value${r.sealed === 1 ? '' : 's'} to the document's recipients as pending (not covered by the document MAC until someone with an identity runs: aes-payload recipients seal FILE -i …)`);
      return;
    }
    const d = await openRecipientInput(text, o, ui);
    if (recipients.length && !sameRecipients(d!.header.recipients, recipients)) {
      throw new UsageError('-r/-R differ from the document\'s recipients: change them with aes-payload recipients add|remove, or drop -r/-R');
    }
    const r = encryptOpened(d as Parameters<typeof encryptOpened>[0], opts);
    out = r.text;
    note = `encrypted ${r.fields?.encrypted ?? 0} value${r.fields?.encrypted === 1 ? '' : 's'}${r.fields?.already ? ` (${r.fields.already} already encrypted)` : ''}, to the document's ${d!.header.recipients.length} recipient${d!.header.recipients.length === 1 ? '' : 's'}`;
  } else {
    checkUsage(ENCRYPT, 'new-document', { ...o, recipients: recipients.length });
    const inputType = inputTypeOf(file, o.inputType) as 'json' | 'env' | 'yaml';
    const yaml = inputType === 'yaml' ? await yamlReader() : undefined;
    const r = encryptToRecipients(text, recipients, { ...opts, inputType }, yaml);
    out = r.text;
    note = `encrypted ${r.fields?.encrypted ?? 0} value${r.fields?.encrypted === 1 ? '' : 's'} to ${recipients.length} recipient${recipients.length === 1 ? '' : 's'}${given ? ` named in ${given.origin}` : ''}`;
  }
  emit(out, { output: o.output, force: o.force, mode: 0o666 });
  ui.line(note);
}
