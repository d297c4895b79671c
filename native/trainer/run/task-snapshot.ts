// The custom task files a run evaluates, copied into the run folder when it starts: beside the
// run's config.yaml (where the config checks and `lora-lab eval --run` / `train --resume` look for
// them), with data.file made absolute so it still names the original data. The run also records
// exactly which task definition its scores came from.
import { isAbsolute, join } from 'node:path';
import { parseDocument } from 'yaml';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { discoverTasks, taskDirsOf } from '../../../language-server/src/eval';
import { writeFileAtomic } from './atomic';

/** Copies the custom tasks named in eval.tasks into `runDir`; returns the names copied. */
export function snapshotTaskFiles(config: LoraLabConfig, runDir: string): string[] {
  const { tasks } = discoverTasks(taskDirsOf(config), nodeFileSystem);
  const copied: string[] = [];
  for (const task of tasks) {
    if (!config.eval.tasks.includes(task.spec.name)) continue;
    const doc = parseDocument(nodeFileSystem.readFile(task.file));
    for (const path of [
      ['data', 'file'],
      ['fewshot', 'data', 'file'],
    ]) {
      const file = doc.getIn(path);
      if (typeof file === 'string' && !isAbsolute(file)) doc.setIn(path, join(task.dataDir, file));
    }
    const name = `${task.spec.name}.task.${task.file.endsWith('.json') ? 'json' : 'yaml'}`;
    const text = task.file.endsWith('.json')
      ? JSON.stringify(doc.toJS(), null, 2) + '\n'
      : `# Copied from ${task.file} when the run started (data.file made absolute).\n${doc.toString()}`;
    writeFileAtomic(join(runDir, name), text);
    copied.push(task.spec.name);
  }
  return copied;
}
