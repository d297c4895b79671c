#!/usr/bin/env node
// `lora-lab`: the headless CLI and the trainer child process entry (the extension forks it).
// One table of subcommands; each lives in commands/<name>.ts.
import { calibrateCommand } from './commands/calibrate';
import { chatServeCommand } from './commands/chat-serve';
import { checkCommand } from './commands/check';
import { demoCommand } from './commands/demo';
import { doctorCommand } from './commands/doctor';
import { downloadCommand } from './commands/download';
import { estimateCommand } from './commands/estimate';
import { evalCommand } from './commands/eval';
import { generateCommand } from './commands/generate';
import { inspectDataCommand } from './commands/inspect-data';
import { mergeCommand } from './commands/merge';
import { runsCommand } from './commands/runs';
import { trainCommand } from './commands/train';
import { EXIT_USAGE, type CliCommand, type CliOutput } from './commands/types';
import { version } from '../../package.json';

// One libuv worker: engine calls run one at a time anyway, and every extra worker thread would
// keep its own engine scratch buffers (set before any async work starts the pool).
process.env.UV_THREADPOOL_SIZE ??= '1';

export const COMMANDS: CliCommand[] = [
  trainCommand,
  checkCommand,
  estimateCommand,
  evalCommand,
  mergeCommand,
  generateCommand,
  runsCommand,
  demoCommand,
  doctorCommand,
  calibrateCommand,
  downloadCommand,
  chatServeCommand,
  {
    name: 'inspect-data',
    summary: 'Show dataset statistics and rendered examples for a config',
    usage: 'lora-lab inspect-data CONFIG [--json]',
    available: true,
    run: (args, out) => inspectDataCommand(args, out),
  },
];

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}${c.available ? '' : ' (not available yet)'}`);
  return [
    'Usage: lora-lab <command> [options]',
    '',
    'Commands:',
    ...rows,
    '',
    'lora-lab <command> --help shows its usage; lora-lab --version prints the version.',
    '',
  ].join('\n');
}

export async function main(argv: string[], out: CliOutput): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.stdout(helpText());
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V') {
    out.stdout(`lora-lab ${version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.stderr(`lora-lab: unknown command '${name}'.\n\n${helpText()}`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out.stdout(`Usage: ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  return command.run(args, out);
}

if (require.main === module) {
  const out: CliOutput = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
  main(process.argv.slice(2), out).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error & { code?: string }) => {
      process.stderr.write(`lora-lab: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
