// The machine's process list from /proc (Linux), to check which trainer processes a test
// caused, and to end the detached ones a test leaves behind.
import { readdirSync, readFileSync } from 'node:fs';

/** Every process we can read: pid and argv. */
export function listProcesses() {
  const processes = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.length > 0) processes.push({ pid: Number(entry), argv });
    } catch {
      // the process ended while we looked
    }
  }
  return processes;
}

/**
 * LoRA Lab trainer processes belonging to one test session: the bundled CLI (dist/cli.js) of
 * the extension installed in `extensionsDir`, or any process naming a file of `workspace` and
 * the `train` subcommand.
 */
export function trainerProcesses({ extensionsDir, workspace }) {
  return listProcesses().filter(({ argv }) => {
    const cli = argv.some((arg) => arg.startsWith(extensionsDir) && /[/\\]dist[/\\]cli\.js$/.test(arg));
    const trainsWorkspace = argv.includes('train') && argv.some((arg) => arg.startsWith(workspace));
    return cli || trainsWorkspace;
  });
}

/** Whether `pid` is alive (signal 0). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
