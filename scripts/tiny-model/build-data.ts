// CLI: regenerates the tiny model's data (corpus, tokenizer files, Alpaca dataset, held-out set).
// Usage: npx tsx scripts/tiny-model/build-data.ts [--root DIR] [--corpus PATH]   (run from the repository root)
import { resolve } from 'node:path';
import { buildTinyModelData, defaultBuildDataOptions } from './index';

function main(argv: string[]): void {
  let rootDir = process.cwd();
  let corpusPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--root' || flag === '--corpus') && value === undefined) throw new Error(`Expected a value after ${flag}`);
    if (flag === '--root') rootDir = resolve(value);
    else if (flag === '--corpus') corpusPath = resolve(value);
    else throw new Error(`Unknown argument ${flag}; expected --root DIR or --corpus PATH`);
    i++;
  }
  const options = defaultBuildDataOptions(rootDir);
  const report = buildTinyModelData({ ...options, corpusPath: corpusPath ?? options.corpusPath });
  console.log(JSON.stringify(report, null, 2));
}

main(process.argv.slice(2));
