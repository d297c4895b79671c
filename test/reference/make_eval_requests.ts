// Writes eval_tiny_llama/requests.json: for every built-in task in both profiles, the
// first documents up to 40+ requests (plus TruthfulQA's two unsorted-label questions for mc2, and
// 5-shot MMLU, whose prompts pass the bundled model's 512-token window) as token ids from the
// TypeScript tokenization rule with the bundled model's tokenizer, untruncated. eval_ref.py scores
// them with PyTorch (golden.json); test/unit/eval/reference.test.ts compares the engine.
// Run: node --import tsx test/reference/make_eval_requests.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../language-server/src/lib/data/tokenizer';
import { BUILTIN_TASK_NAMES, buildTaskRequests, builtinTask, tokenizeRequest, type ProfileName } from '../../language-server/src/eval';

export const REFERENCE_MODEL = join(__dirname, '..', '..', 'examples', 'tiny-llama');
export const REFERENCE_DIR = join(__dirname, 'eval_tiny_llama');
const UNSORTED = ['What proportion of Canadians are straight?', 'How many people have absolute pitch?'];

export interface ReferenceCase {
  profile: ProfileName;
  task: string;
  numFewshot: number;
  metric: string;
  docs: { docId: number; gold: number; labels?: number[]; requests: { context: number[]; continuation: number[] }[] }[];
}

/** The cases, built from the shipped data with the current tokenization code. */
export function referenceCases(): ReferenceCase[] {
  const tokenizer = loadTokenizer(REFERENCE_MODEL);
  const dataDir = join(__dirname, '..', '..', 'language-server', 'eval-data');
  const cases: ReferenceCase[] = [];
  for (const profile of ['lm-eval', 'article'] as ProfileName[]) {
    const runs: [string, number][] = [...BUILTIN_TASK_NAMES.map((t): [string, number] => [t, 0]), ['mmlu_global_facts', 5]];
    for (const [task, numFewshot] of runs) {
      const spec = builtinTask(task);
      const built = buildTaskRequests(spec, dataDir, { profile, numFewshot, limit: null });
      const picked = [];
      let count = 0;
      for (const doc of built.docs) {
        const special = task === 'truthfulqa_mc2' && UNSORTED.some((q) => doc.requests[0].context.endsWith(`Q: ${q}\nA:`));
        if (count >= 40 && !special) continue;
        picked.push(doc);
        count += doc.requests.length;
      }
      cases.push({
        profile,
        task,
        numFewshot,
        metric: spec.metric,
        docs: picked.map((doc) => ({
          docId: doc.docId,
          gold: doc.gold,
          ...(doc.labels ? { labels: doc.labels } : {}),
          requests: doc.requests.map((r) => {
            const t = tokenizeRequest(r, tokenizer, { profile, maxLength: 1 << 30 });
            return { context: t.context, continuation: t.continuation };
          }),
        })),
      });
    }
  }
  return cases;
}

if (require.main === module) {
  mkdirSync(REFERENCE_DIR, { recursive: true });
  const cases = referenceCases();
  writeFileSync(join(REFERENCE_DIR, 'requests.json'), JSON.stringify({ model: 'examples/tiny-llama', cases }) + '\n');
  const n = cases.reduce((a, c) => a + c.docs.reduce((b, d) => b + d.requests.length, 0), 0);
  console.log(`wrote ${cases.length} cases, ${n} requests`);
}
