// The shape of one `lora-lab` subcommand: a name, a one-line summary for --help, a usage line,
// and run(args, out) resolving to the process exit code.
export interface CliOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Not yet built: the CLI answers "not available yet" and exits 2. */
  available: boolean;
  run(args: string[], out: CliOutput): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
