/**
 * Field documents, version 2 (docs/FORMAT.md §10): the JSON field
 * operations, one file each, and the names other modules import from here.
 *
 * - `jsonDoc.ts`: the document parsed (header member apart, reserved strings by kind);
 * - `docMac.ts`: the document MAC (§10.4); `docOpen.ts`: authenticate and open (§10.5);
 *   `docSeal.ts`: write the header (§10.2);
 * - `encryptFields.ts`, `decryptFields.ts`, `checkFields.ts` (and `requireOnPlain`),
 *   `rotateFields.ts`, `reencryptFields.ts`: the operations.
 */
export { HEADER_MEMBER, fieldDocumentKind, notEncrypted, type FieldsKey, type KeyForKid } from './jsonDoc.js';
export { encryptFields, type FieldsEncryptOptions, type FieldsEncryptResult } from './encryptFields.js';
export { decryptFields, type FieldsDecryptOptions, type FieldsDecryptResult } from './decryptFields.js';
export { checkFields, requireOnPlain, type FieldsCheck } from './checkFields.js';
export { rotateFields } from './rotateFields.js';
export { reencryptFields, type FieldsReencryptResult } from './reencryptFields.js';
