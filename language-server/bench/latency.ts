// Latency of diagnostics + code lens for a 200-line config after the checkpoint's config.json was
// read once: the pure service per edit, and end to end over the LSP stream (didChange -> publish + codeLens).
// Run: node --import tsx language-server/bench/latency.ts [iterations]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KEY_SPECS, SECTIONS, type KeySpec } from '../src/config';
import { nodeFileSystem } from '../src/config/node-fs';
import { CachedFileSystem, analyzeConfig, codeLenses, diagnostics } from '../src/service';
import { LspSession } from '../../test/unit/language-server/lsp-harness';

const FIXTURES = resolve(__dirname, '../../test/fixtures/lsp');
const ITERATIONS = Number(process.argv[2] ?? 300);

function yamlValue(spec: KeySpec): string {
  if (spec.key === 'model.checkpoint') return 'checkpoints/llama2-7b';
  if (spec.key === 'data.path') return 'data/alpaca.json';
  if (spec.key === 'lora.head' || spec.key === 'lora.mlp' || spec.key === 'lora.key' || spec.key === 'lora.projection') return 'true';
  return spec.default === null ? 'null' : Array.isArray(spec.default) ? `[${spec.default.join(', ')}]` : String(spec.default);
}

/** Every key with a comment line of its documentation, block lists and a 12-variant sweep: 200 lines. */
export function twoHundredLineConfig(): string {
  const lines = ['# A full LoRA Lab config: every key with its documentation, and a sweep.', 'name: bench-sweep', ''];
  const comment = (indent: string, spec: KeySpec) => `${indent}# ${spec.doc.split('. ')[0].replace(/\.$/, '')}.`;
  for (const section of SECTIONS) {
    lines.push(`${section}:`);
    for (const spec of KEY_SPECS.filter((entry) => entry.key.startsWith(`${section}.`))) {
      lines.push(comment('  ', spec));
      const name = spec.key.slice(section.length + 1);
      if (spec.key === 'eval.tasks') lines.push(`  ${name}:`, ...(spec.default as string[]).map((task) => `    - ${task}`));
      else lines.push(`  ${name}: ${yamlValue(spec)}`);
    }
    lines.push('');
  }
  for (const key of ['device', 'out_dir'])
    lines.push(
      comment(
        '',
        KEY_SPECS.find((spec) => spec.key === key)!,
      ),
      `${key}: ${yamlValue(KEY_SPECS.find((spec) => spec.key === key)!)}`,
    );
  lines.push(
    '',
    '# Every combination is one run: 6 ranks x 2 learning rates = 12 variants.',
    'sweep:',
    '  lora.r:',
    ...[8, 16, 32, 64, 128, 256].map((r) => `    - ${r}`),
    '  lora.alpha: ["=2*lora.r"]',
    '  train.learning_rate:',
    '    - 1.0e-4',
    '    - 3.0e-4',
  );
  while (lines.length < 200) lines.push(lines.length % 2 ? '' : `# note ${lines.length}: measured on this machine`);
  return `${lines.join('\n')}\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `${label}: p50 ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms (${samples.length} edits)`,
  );
}

async function main(): Promise<void> {
  const text = twoHundredLineConfig();
  const configPath = join(FIXTURES, 'bench.lora.yaml');
  const edited = (i: number) => text.replace('  dropout: 0.05', `  dropout: 0.${String((i % 90) + 10)}`);
  console.log(`config: ${text.split('\n').length - 1} lines, checkpoint ${join(FIXTURES, 'checkpoints/llama2-7b')}`);

  const fs = new CachedFileSystem(nodeFileSystem);
  const first = analyzeConfig(text, configPath, fs);
  const lenses = codeLenses(first);
  if (!lenses[0]?.command?.title.startsWith('Sweep of 12 variants: trainable'))
    throw new Error(`the checkpoint was not read: ${lenses[0]?.command?.title}`);
  console.log(
    `problems: ${first.parsed.problems.length}, variants: ${first.parsed.variants.length}, lenses: ${lenses.length} (${lenses[0]?.command?.title})`,
  );
  const service: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const started = performance.now();
    const analysis = analyzeConfig(edited(i), configPath, fs);
    diagnostics(analysis);
    codeLenses(analysis);
    service.push(performance.now() - started);
  }
  report('service (analyse + diagnostics + code lens)', service);

  const session = LspSession.inProcess();
  await session.initialize();
  const uri = pathToFileURL(configPath).toString();
  await session.open(uri, text);
  await session.diagnostics(uri);
  await session.codeLens(uri);
  const endToEnd: number[] = [];
  for (let i = 0; i < Math.min(ITERATIONS, 200); i++) {
    const started = performance.now();
    await session.change(uri, edited(i));
    await session.diagnostics(uri);
    await session.codeLens(uri);
    endToEnd.push(performance.now() - started);
  }
  report('LSP stream (didChange -> publishDiagnostics + codeLens)', endToEnd);
  await session.shutdown();
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
