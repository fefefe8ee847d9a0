import { closeInspectorSignal } from '../io/signals.js';
import { main } from './main.js';

// Before anything else: SIGUSR1 must not open the Node.js inspector (src/io/signals.ts).
closeInspectorSignal();

// The one place with top-level work: run the CLI and set the exit status.
void main(process.argv).then((code) => {
  process.exitCode = code;
});

// For the build's code-cache warm-up (bin/aes-payload.js), which runs more commands in one process.
export { main };
