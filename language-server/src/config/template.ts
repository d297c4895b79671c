// A new *.lora.yaml generated from the schema: every key at its default with its summary as a
// comment (for the "new config" snippet and `lora-lab init`); parses back to the defaults.
import { KEY_SPECS, SECTIONS, type KeySpec } from './schema';

function yamlValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(', ')}]`;
  if (typeof value === 'number') return Number.isInteger(value) || Math.abs(value) >= 1e-3 ? String(value) : value.toExponential();
  if (typeof value === 'string')
    return /^[A-Za-z0-9_./-]+$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value) ? value : JSON.stringify(value);
  return String(value);
}

function summary(spec: KeySpec): string {
  const first = spec.doc.split(/(?<=\.)\s/)[0];
  return spec.choices && spec.type === 'enum' ? `${spec.choices.join(' | ')}. ${first}` : first;
}

/** YAML text of a complete config at the defaults; `name` and other values can be given. */
export function defaultConfigText(values: Readonly<Record<string, unknown>> = {}): string {
  const lines: string[] = [];
  const line = (indent: string, spec: KeySpec): void => {
    const key = spec.key.split('.').pop();
    const value = spec.key in values ? values[spec.key] : spec.default;
    lines.push(`${indent}${key}: ${yamlValue(value)}  # ${summary(spec)}`);
  };
  if ('name' in values) lines.push(`name: ${yamlValue(values.name)}`);
  for (const section of SECTIONS) {
    lines.push(`${section}:`);
    for (const spec of KEY_SPECS) if (spec.key.startsWith(`${section}.`)) line('  ', spec);
  }
  for (const spec of KEY_SPECS) if (!spec.key.includes('.') && spec.key !== 'name') line('', spec);
  return `${lines.join('\n')}\n`;
}
