// Small helpers for subcommand options: `--name value` flags, booleans, and a usage error type.
export class UsageError extends Error {}

export function takeOptions(
  args: string[],
  valued: string[],
  flags: string[] = [],
): { values: Record<string, string>; flags: Set<string>; positional: string[] } {
  const values: Record<string, string> = {};
  const seen = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (valued.includes(arg)) {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      values[arg] = v;
    } else if (flags.includes(arg)) {
      seen.add(arg);
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { values, flags: seen, positional };
}

export function numberOption(
  values: Record<string, string>,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  what: string,
): number {
  if (values[name] === undefined) return fallback;
  const n = Number(values[name]);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`${name} needs ${what}, got '${values[name]}'`);
  return n;
}
