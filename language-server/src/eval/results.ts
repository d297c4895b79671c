// lm-evaluation-harness 0.4's results layout (results_<time>.json) and samples lines, built from
// per-task scores; the article profile also carries 0.3's keys.
import { meanStderr, perplexity } from './metrics';
import { targetDelimiter } from './requests';
import type { DocRequests, ProfileName, ScoreResult, TaskSpec } from './types';

export interface TaskScores {
  task: TaskSpec;
  numFewshot: number;
  original: number;
  docs: DocRequests[];
  /** Per document, one result per request. */
  results: ScoreResult[][];
  /** Per document, its metric value. */
  metrics: number[];
  /** generate_until: per document, the generated answer (cut at the stop string, before normalisation). */
  generations?: string[];
  /** Requests whose context was left-truncated to fit the window, and the most tokens dropped. */
  truncatedRequests: number;
  maxTokensDropped: number;
}

export interface RunInfo {
  model: string;
  adapter: string | null;
  profile: ProfileName;
  limit: number | null;
  batchSize: number;
  device: string;
  bos: boolean | null;
  maxLength: number;
  /** Seconds since the epoch. */
  date: number;
}

/** A task's headline metric as its results file names it (`acc` for acc, mc2, pair and greedy accuracy). */
export interface Headline {
  metric: string;
  value: number;
  stderr: number | null;
  higherIsBetter: boolean;
}

export function headlineMetric(t: Pick<TaskScores, 'metrics' | 'task'>): Headline {
  const { mean, stderr } = meanStderr(t.metrics);
  return { metric: t.task.kind === 'generate_until' ? t.task.metric : 'acc', value: mean, stderr, higherIsBetter: true };
}

/** Every metric of a task's results entry: the headline, and for a loglikelihood task perplexity (lower is better; lm-eval bootstraps its stderr, we write N/A). */
export function taskMetrics(t: Pick<TaskScores, 'metrics' | 'task' | 'results'>): Headline[] {
  const out = [headlineMetric(t)];
  if (t.task.kind === 'loglikelihood')
    out.push({ metric: 'perplexity', value: perplexity(t.results), stderr: null, higherIsBetter: false });
  return out;
}

/** Python-style "N/A" where lm-eval writes it (an undefined stderr). */
const na = (value: number | null): number | string => (value === null || Number.isNaN(value) ? 'N/A' : value);

export function buildResults(tasks: TaskScores[], info: RunInfo): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  const configs: Record<string, unknown> = {};
  const versions: Record<string, string> = {};
  const nShot: Record<string, number> = {};
  const higher: Record<string, unknown> = {};
  const nSamples: Record<string, unknown> = {};
  const truncation: Record<string, unknown> = {};
  for (const t of tasks) {
    const name = t.task.name;
    const metrics = taskMetrics(t);
    results[name] = { alias: name };
    for (const m of metrics)
      Object.assign(results[name] as object, { [`${m.metric},none`]: m.value, [`${m.metric}_stderr,none`]: na(m.stderr) });
    versions[name] = t.task.version;
    nShot[name] = t.numFewshot;
    higher[name] = Object.fromEntries(metrics.map((m) => [m.metric, m.higherIsBetter]));
    nSamples[name] = { original: t.original, effective: t.docs.length };
    truncation[name] = { requests: t.truncatedRequests, max_tokens_dropped: t.maxTokensDropped };
    configs[name] = {
      task: name,
      dataset_path: t.task.data.file,
      output_type: t.task.kind,
      description: t.task.preamble,
      doc_to_text: t.task.context,
      target_delimiter: targetDelimiter(t.task, info.profile),
      fewshot_delimiter: t.task.fewshot?.delimiter ?? '\n\n',
      num_fewshot: t.numFewshot,
      metric_list: metrics.map((m, i) => ({
        metric: i > 0 || m.metric !== 'acc' || t.task.metric === 'acc' ? m.metric : `acc (${t.task.metric})`,
        aggregation: m.metric === 'perplexity' ? 'perplexity' : 'mean',
        higher_is_better: m.higherIsBetter,
      })),
      ...(t.task.kind === 'generate_until'
        ? {
            doc_to_target: t.task.target,
            generation_kwargs: { until: t.task.until ?? [], max_gen_toks: t.task.max_tokens, do_sample: false },
            normalize: t.task.normalize ?? [],
          }
        : {}),
      metadata: { version: Number(t.task.version) },
    };
  }
  const out: Record<string, unknown> = {
    results,
    configs,
    versions,
    'n-shot': nShot,
    higher_is_better: higher,
    'n-samples': nSamples,
    truncation,
    config: {
      model: info.model,
      adapter: info.adapter,
      profile: info.profile,
      limit: info.limit,
      batch_size: info.batchSize,
      device: info.device,
      bos: info.bos,
      max_length: info.maxLength,
    },
    date: info.date,
  };
  if (info.profile === 'article') out['results_0.3'] = legacyResults(tasks);
  return out;
}

/** lm-eval 0.3's keys for the article's tasks (truthfulqa_mc, hendrycksTest-global_facts, ...). */
function legacyResults(tasks: TaskScores[]): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const t of tasks) {
    const { mean, stderr } = meanStderr(t.metrics);
    const name = t.task.name;
    if (name === 'truthfulqa_mc1' || name === 'truthfulqa_mc2') {
      const key = name === 'truthfulqa_mc1' ? 'mc1' : 'mc2';
      out.truthfulqa_mc = { ...out.truthfulqa_mc, [key]: mean, [`${key}_stderr`]: na(stderr) };
    } else if (name === 'mmlu_global_facts') {
      // Every choice (" A" ... " D") has the same length, so 0.3's acc_norm equals acc.
      out['hendrycksTest-global_facts'] = { acc: mean, acc_stderr: na(stderr), acc_norm: mean, acc_norm_stderr: na(stderr) };
    } else {
      out[name] = { acc: mean, acc_stderr: na(stderr) };
    }
  }
  return out;
}

/** One samples_<task>_<time>.jsonl line per document. */
export function sampleLines(t: TaskScores): string[] {
  if (t.task.kind === 'generate_until')
    return t.docs.map((doc, i) =>
      JSON.stringify({
        doc_id: doc.docId,
        target: doc.target,
        arguments: {
          gen_args_0: { arg_0: doc.requests[0].context, arg_1: { until: t.task.until ?? [], max_gen_toks: t.task.max_tokens } },
        },
        resps: [[t.generations?.[i] ?? '']],
        filtered_resps: [t.generations?.[i] ?? ''],
        [t.task.metric]: t.metrics[i],
      }),
    );
  return t.docs.map((doc, i) => {
    const line = {
      doc_id: doc.docId,
      target: doc.labels ? doc.labels : doc.gold,
      arguments: Object.fromEntries(doc.requests.map((r, j) => [`gen_args_${j}`, { arg_0: r.context, arg_1: r.continuation }])),
      resps: t.results[i].map((r) => [r.sumLogprob, r.isGreedy]),
      acc: t.metrics[i],
    };
    return JSON.stringify(line);
  });
}

/** Results file name: results_<ISO time with '-' for ':'>.json, as lm-eval writes it. */
export function resultsStamp(date: Date): string {
  return date.toISOString().replace(/:/g, '-').replace(/Z$/, '');
}
