// Child process for checkpoint-resave.test.ts: re-saves checkpoint STEP of RUN_DIR through the
// trainer's saveCheckpoint (as the stop path does after a checkpoint of the same step), and is
// SIGKILLed by itself halfway through writing the new copy: the moment a process manager's
// SIGTERM-then-SIGKILL escalation can hit.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCursor, saveCheckpoint } from '../../native/trainer/run/checkpoints';

process.on('SIGTERM', () => {}); // the trainer's handler only requests a stop
const [runDir, stepText, keepText] = process.argv.slice(2);
const source = join(runDir, 'checkpoints', `step-${stepText.padStart(6, '0')}`);
const cursor = readCursor(source);
void saveCheckpoint(runDir, cursor, Number(keepText), { lastBytes: null, estimatedBytes: 1 }, async (dir) => {
  mkdirSync(join(dir, 'adapter'));
  const files = readdirSync(join(source, 'adapter'));
  copyFileSync(join(source, 'adapter', files[0]), join(dir, 'adapter', files[0]));
  process.kill(process.pid, 'SIGTERM');
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => {});
});
