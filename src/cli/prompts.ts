/**
 * The only prompts aes-payload uses, re-exported from one module so that the
 * CLI can import them lazily (`await import('./prompts.js')`) and pay for
 * @inquirer/prompts only when a prompt is really shown.
 */
export { confirm, password } from '@inquirer/prompts';
