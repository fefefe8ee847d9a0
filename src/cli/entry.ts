import { main } from './main.js';

// The one place with top-level work: run the CLI and set the exit status.
void main(process.argv).then((code) => {
  process.exitCode = code;
});
