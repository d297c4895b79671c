// Code lens on the first line: trainable / total parameters from the checkpoint's config.json (one
// lens per sweep variant, or the range for a large sweep) and the memory/time estimate's state.
import type { CodeLens } from 'vscode-languageserver-types';
import type { LoraLabConfig } from '../config';
import type { ConfigAnalysis } from './analysis';
import { checkpointShape } from './checkpoint';
import { displayJson } from './hover';
import { formatCompact, formatCount, formatShare, parameterCounts, type ParameterCounts } from './params';

/** Sweeps up to this many variants get one lens each; larger ones one lens with the range. */
export const MAX_VARIANT_LENSES = 8;

export const ESTIMATE_PENDING = 'Peak memory and time: estimate pending (estimator not built yet)';

const FIRST_LINE = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** A title-only lens: LSP lenses carry their title in a command; an empty command id is not clickable. */
function titleLens(title: string): CodeLens {
  return { range: FIRST_LINE, command: { title, command: '' } };
}

function countsOf(analysis: ConfigAnalysis, config: LoraLabConfig): ParameterCounts | string {
  const shape = checkpointShape(analysis, config);
  return 'error' in shape ? shape.error : parameterCounts(shape.shape, config);
}

function describeCounts(counts: ParameterCounts, method: LoraLabConfig['train']['method']): string {
  const what = method === 'full' ? 'full finetune' : 'LoRA';
  return `Trainable ${formatCount(counts.trainable)} / ${formatCount(counts.total)} parameters (${formatShare(counts.trainable, counts.total)}, ${what})`;
}

function describeOverrides(overrides: Record<string, unknown>): string {
  return Object.entries(overrides).map(([key, value]) => `${key}=${displayJson(value)}`).join(', ');
}

/** The lenses of the document's first line. */
export function codeLenses(analysis: ConfigAnalysis): CodeLens[] {
  const { config, variants } = analysis.parsed;
  if (config.sweep.length === 0) {
    const counts = countsOf(analysis, config);
    return [titleLens(typeof counts === 'string' ? `Parameters: unknown (${counts})` : describeCounts(counts, config.train.method)), titleLens(ESTIMATE_PENDING)];
  }
  if (variants.length === 0) return [titleLens('Sweep: no valid variant (see the problems)'), titleLens(ESTIMATE_PENDING)];
  const perVariant = variants.map((variant) => ({ variant, counts: countsOf(analysis, variant.config) }));
  if (variants.length <= MAX_VARIANT_LENSES) {
    const lenses = perVariant.map(({ variant, counts }) =>
      titleLens(`Variant ${variant.index} (${describeOverrides(variant.overrides)}): ${typeof counts === 'string' ? `parameters unknown (${counts})` : `trainable ${formatCompact(counts.trainable)} / ${formatCompact(counts.total)} (${formatShare(counts.trainable, counts.total)})`}`),
    );
    return [...lenses, titleLens(ESTIMATE_PENDING)];
  }
  const known = perVariant.map(({ counts }) => counts).filter((counts): counts is ParameterCounts => typeof counts !== 'string');
  if (known.length === 0) return [titleLens(`Sweep of ${variants.length} variants: parameters unknown (${String(perVariant[0].counts)})`), titleLens(ESTIMATE_PENDING)];
  const trainable = known.map((counts) => counts.trainable);
  const totals = [...new Set(known.map((counts) => counts.total))];
  const totalText = totals.length === 1 ? formatCompact(totals[0]) : `${formatCompact(Math.min(...totals))} … ${formatCompact(Math.max(...totals))}`;
  return [titleLens(`Sweep of ${variants.length} variants: trainable ${formatCompact(Math.min(...trainable))} … ${formatCompact(Math.max(...trainable))} / ${totalText} parameters`), titleLens(ESTIMATE_PENDING)];
}
