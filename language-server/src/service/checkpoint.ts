// The checkpoint's shape for the code lens and hovers: config.json read through the analysis's
// file system (cached by the server) and read by the estimator's reader (the engine's rules), or the
// reason it cannot be read or the engine would refuse it.
import { joinPath, type LoraLabConfig } from '../config';
import { countParams, ModelShapeError, readModelShape, type ModelShape, type ParamEstimate } from '../estimator';
import type { ConfigAnalysis } from './analysis';

export type ShapeResult = { shape: ModelShape } | { error: string };

export function checkpointShape(analysis: ConfigAnalysis, config: LoraLabConfig = analysis.parsed.config): ShapeResult {
  if (!analysis.fs) return { error: 'the file checks are off for this document' };
  const path = joinPath(config.model.checkpoint, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(analysis.fs.readFile(path));
  } catch (error) {
    return { error: error instanceof SyntaxError ? `${path} is not valid JSON` : `${path} cannot be read` };
  }
  try {
    return { shape: readModelShape(json) };
  } catch (error) {
    if (error instanceof ModelShapeError) return { error: error.message.replace(/^config\.json/, path) };
    throw error;
  }
}

/** The estimator's parameter count of a config on its checkpoint, or why it is unknown. */
export function checkpointParams(analysis: ConfigAnalysis, config: LoraLabConfig = analysis.parsed.config): ParamEstimate | string {
  const shape = checkpointShape(analysis, config);
  return 'error' in shape ? shape.error : countParams(shape.shape, config.train.method, config.lora.r, config.lora);
}
