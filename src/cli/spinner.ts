/**
 * ora, re-exported from one module so that the CLI loads it lazily
 * (`await import('./spinner.js')`) and only when a spinner is really shown.
 */
export { default as ora } from 'ora';
