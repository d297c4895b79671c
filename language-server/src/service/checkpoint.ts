// The checkpoint's shape for the code lens and hovers: config.json read through the analysis's
// file system (cached by the server), or the reason it cannot be read.
import { joinPath, type LoraLabConfig } from '../config';
import type { ConfigAnalysis } from './analysis';
import { modelShape, type ModelShape } from './params';

export type ShapeResult = { shape: ModelShape } | { error: string };

export function checkpointShape(analysis: ConfigAnalysis, config: LoraLabConfig = analysis.parsed.config): ShapeResult {
  if (!analysis.fs) return { error: 'the file checks are off for this document' };
  const path = joinPath(config.model.checkpoint, 'config.json');
  let text: string;
  try {
    text = analysis.fs.readFile(path);
  } catch {
    return { error: `${path} cannot be read` };
  }
  try {
    return modelShape(JSON.parse(text));
  } catch {
    return { error: `${path} is not valid JSON` };
  }
}
