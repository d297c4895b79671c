// Evaluation throughput (npm run bench): Engine.score on the article's tasks with and without
// prefix sharing, side by side in one run, on the bundled tiny model (every task, whole) and on a
// SmolLM-135M-shaped random model (the first TruthfulQA questions; the bundled tokenizer's ids).
// Prints requests/s, input tokens/s (tokens the requests contain) and the speedup from sharing.
// Usage: node --import tsx test/bench/eval.ts [--quick]   (--quick: tiny model, TruthfulQA only)
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon, type NativeEngine } from '../../native/trainer/addon';
import { configWith, engineOptions } from '../../native/trainer/run/engine-options';
import { loadTokenizer } from '../../language-server/src/lib/data/tokenizer';
import { evalDataDir, prepareTasks } from '../../native/trainer/eval/runner';
import { scoreRequests } from '../../native/trainer/eval/score';
import type { TokenRequest } from '../../language-server/src/eval';
import { makeTinyCheckpoint } from '../unit/helpers/tiny-checkpoint';

const quick = process.argv.includes('--quick');
const root = join(__dirname, '..', '..');
const tinyModel = join(root, 'examples', 'tiny-llama');
const tokenizer = loadTokenizer(tinyModel);
const threads = availableParallelism();

function requestsOf(tasks: string[], limit: number | null, maxLength: number): TokenRequest[] {
  const prepared = prepareTasks(
    { tasks, profile: 'lm-eval', numFewshot: 0, limit, bos: null, sharePrefix: true, dataDir: evalDataDir(), taskDirs: [] },
    tokenizer,
    maxLength,
  );
  const seen = new Set<string>();
  const out: TokenRequest[] = [];
  for (const { tokens } of prepared)
    for (const r of tokens.flat()) {
      const key = `${r.context.join(',')}|${r.continuation.join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
  return out;
}

const rows: string[][] = [];
async function measure(model: string, engine: NativeEngine, workload: string, requests: TokenRequest[]): Promise<void> {
  const input = requests.reduce((a, r) => a + r.context.length + r.continuation.length - 1, 0);
  const seconds: Record<string, number> = {};
  for (const share of [true, false]) {
    const t0 = process.hrtime.bigint();
    const { computedTokens } = await scoreRequests(engine, requests, { sharePrefix: share });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    seconds[String(share)] = s;
    rows.push([
      model,
      workload,
      share ? 'on' : 'off',
      String(requests.length),
      String(input),
      String(computedTokens),
      s.toFixed(2),
      (requests.length / s).toFixed(1),
      (input / s).toFixed(0),
      share ? '' : `${(s / seconds.true).toFixed(2)}x`,
    ]);
  }
}

async function main(): Promise<void> {
  const addon = loadAddon();
  console.log(`eval throughput, ${threads} threads, ${addon.deviceReport().cpu.model}; ${new Date().toISOString()}`);
  const tiny = await addon.loadEngine(
    tinyModel,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true', 'train.method': 'full' }), 1, false, undefined, threads),
  );
  try {
    const window = tiny.config().maxPositionEmbeddings;
    await measure('tiny-llama 0.9M', tiny, 'truthfulqa_mc1+mc2', requestsOf(['truthfulqa_mc1', 'truthfulqa_mc2'], null, window));
    if (!quick) {
      await measure(
        'tiny-llama 0.9M',
        tiny,
        'article set (6 tasks)',
        requestsOf(
          ['truthfulqa_mc1', 'truthfulqa_mc2', 'blimp_causative', 'mmlu_global_facts', 'arithmetic_2ds', 'arithmetic_4ds'],
          null,
          window,
        ),
      );
    }
  } finally {
    tiny.dispose();
  }
  if (!quick) {
    const dir = mkdtempSync(join(tmpdir(), 'lora-lab-bench-eval-'));
    try {
      const smol = makeTinyCheckpoint(join(dir, 'smollm'), {
        vocabSize: 49152,
        hiddenSize: 576,
        intermediateSize: 1536,
        numLayers: 30,
        numHeads: 9,
        numKvHeads: 3,
        tied: true,
        dtype: 'BF16',
      });
      const engine = await addon.loadEngine(
        smol,
        engineOptions(configWith({ device: 'cpu', 'model.precision': 'bf16-true', 'train.method': 'full' }), 1, false, undefined, threads),
      );
      try {
        await measure(
          'SmolLM-135M shape',
          engine,
          'truthfulqa_mc1, 4 questions',
          requestsOf(['truthfulqa_mc1'], 4, engine.config().maxPositionEmbeddings),
        );
      } finally {
        engine.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const header = [
    'model',
    'workload',
    'prefix sharing',
    'requests',
    'input tokens',
    'computed tokens',
    'seconds',
    'requests/s',
    'tokens/s',
    'sharing speedup',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i >= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
