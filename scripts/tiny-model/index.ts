// Public API of the tiny-model data generators, and buildTinyModelData(), which regenerates the
// corpus, the tokenizer files, the Alpaca dataset (+ CSV sample), the held-out arithmetic set and the
// demo's short-answer instructions (train and held-out splits).
import { join } from 'node:path';
import { alpacaToCsv, generateAlpaca, type AlpacaOptions } from './alpaca';
import { toJsonl } from './arithmetic';
import { BpeTokenizer, trainBpe, type BpeTrainingOptions } from './bpe';
import { corpusStats, generateCorpus, type CorpusOptions, type CorpusStats } from './corpus';
import { writeFileAtomic, writeJsonAtomic } from './files';
import { alpacaText } from './prompts';
import { generateShortAnswers, type ShortAnswerOptions } from './short-answers';
import { writeTokenizerFiles, type TokenizerFileOptions } from './tokenizer-files';

export { generateAlpaca, alpacaToCsv, DEFAULT_ALPACA_OPTIONS, type AlpacaOptions } from './alpaca';
export { arithmeticRecord, heldOutTwoDigitQuestions, type ArithmeticRecord } from './arithmetic';
export { BpeTokenizer, trainBpe, DEFAULT_BPE_OPTIONS, type BpeTrainingOptions, type ByteLevelBpe } from './bpe';
export { generateCorpus, corpusStats, DEFAULT_CORPUS_OPTIONS, type Corpus, type CorpusDocument, type CorpusOptions } from './corpus';
export type { InstructionRecord } from './instructions';
export {
  generateShortAnswers,
  SHORT_ANSWER_FAMILIES,
  DEFAULT_SHORT_ANSWER_OPTIONS,
  type ShortAnswerFamily,
  type ShortAnswerOptions,
  type ShortAnswerRecord,
} from './short-answers';
export { alpacaPrompt, alpacaText, renderChat, CHAT_TEMPLATE, type ChatMessage } from './prompts';
export {
  writeTokenizerFiles,
  tokenizerJson,
  tokenizerConfig,
  bpeFromTokenizerJson,
  DEFAULT_TOKENIZER_FILE_OPTIONS,
} from './tokenizer-files';

export interface BuildDataOptions {
  /** Folder that receives examples/tiny-llama and examples/data (the repository root by default). */
  rootDir: string;
  /** Where the corpus is written as JSON Lines {"kind", "text"} (not committed; regenerated). */
  corpusPath: string;
  corpus: Partial<CorpusOptions>;
  bpe: Partial<BpeTrainingOptions>;
  alpaca: Partial<AlpacaOptions>;
  shortAnswers: Partial<ShortAnswerOptions>;
  tokenizer: Partial<TokenizerFileOptions>;
  /** Records copied into examples/data/alpaca-sample.csv (the first ones of alpaca.json). */
  csvSampleCount: number;
}

export interface BuildDataReport {
  files: string[];
  corpus: CorpusStats;
  /** Tokens of all corpus documents under the trained tokenizer, without <s>/</s>. */
  corpusTokens: number;
  vocabSize: number;
  merges: number;
  alpacaRecords: number;
  heldOutQuestions: number;
  shortAnswers: { train: number; heldOut: number };
  seconds: { corpus: number; bpe: number; total: number };
}

/**
 * The corpus as one token stream for pretraining: `<s> document </s>` for each document, in order.
 * Token ids fit in 16 bits for the default vocabulary, but a Uint32Array keeps larger ones safe.
 */
export function packCorpus(documents: readonly { text: string }[], tokenizer: BpeTokenizer, eosToken = '</s>'): Uint32Array {
  const eosId = tokenizer.idOf.get(eosToken);
  if (eosId === undefined) throw new Error(`Expected the EOS token ${eosToken} in the vocabulary`);
  const ids: number[] = [];
  for (const document of documents) {
    for (const id of tokenizer.encode(document.text)) ids.push(id);
    ids.push(eosId);
  }
  return Uint32Array.from(ids);
}

export function defaultBuildDataOptions(rootDir = process.cwd()): BuildDataOptions {
  return {
    rootDir,
    corpusPath: join(rootDir, 'build', 'tiny-model', 'corpus.jsonl'),
    corpus: {},
    bpe: {},
    alpaca: {},
    shortAnswers: {},
    tokenizer: {},
    csvSampleCount: 200,
  };
}

/** Regenerates every data file of the tiny model; equal options give byte-identical files. */
export function buildTinyModelData(options: Partial<BuildDataOptions> = {}): BuildDataReport {
  const opts: BuildDataOptions = { ...defaultBuildDataOptions(options.rootDir), ...options };
  const started = performance.now();
  const corpus = generateCorpus(opts.corpus);
  const alpaca = generateAlpaca(opts.alpaca);
  const corpusDone = performance.now();

  const trainingTexts = [...corpus.documents.map((d) => d.text), ...alpaca.map(alpacaText)];
  const bpe = trainBpe(trainingTexts, opts.bpe);
  const bpeDone = performance.now();
  const tokenizer = new BpeTokenizer(bpe, opts.tokenizer.bosToken ?? '<s>');
  let corpusTokens = 0;
  for (const document of corpus.documents) corpusTokens += tokenizer.encode(document.text, { addBosToken: false }).length;

  const modelDir = join(opts.rootDir, 'examples', 'tiny-llama');
  const dataDir = join(opts.rootDir, 'examples', 'data');
  const files = writeTokenizerFiles(modelDir, bpe, opts.tokenizer);
  const alpacaPath = join(dataDir, 'alpaca.json');
  writeJsonAtomic(alpacaPath, alpaca);
  const csvPath = join(dataDir, 'alpaca-sample.csv');
  writeFileAtomic(csvPath, alpacaToCsv(alpaca.slice(0, opts.csvSampleCount)));
  const heldOutPath = join(dataDir, 'eval', 'arithmetic_2ds_heldout.jsonl');
  writeFileAtomic(heldOutPath, toJsonl(corpus.heldOut));
  writeFileAtomic(opts.corpusPath, toJsonl(corpus.documents));
  const shortAnswers = generateShortAnswers(opts.shortAnswers);
  const instructionsTrainPath = join(dataDir, 'instructions-train.jsonl');
  writeFileAtomic(instructionsTrainPath, toJsonl(shortAnswers.train));
  const instructionsHeldOutPath = join(dataDir, 'instructions-heldout.jsonl');
  writeFileAtomic(instructionsHeldOutPath, toJsonl(shortAnswers.heldOut));
  files.push(alpacaPath, csvPath, heldOutPath, instructionsTrainPath, instructionsHeldOutPath, opts.corpusPath);

  const finished = performance.now();
  return {
    files,
    corpus: corpusStats(corpus),
    corpusTokens,
    vocabSize: bpe.vocab.length,
    merges: bpe.merges.length,
    alpacaRecords: alpaca.length,
    heldOutQuestions: corpus.heldOut.length,
    shortAnswers: { train: shortAnswers.train.length, heldOut: shortAnswers.heldOut.length },
    seconds: { corpus: (corpusDone - started) / 1000, bpe: (bpeDone - corpusDone) / 1000, total: (finished - started) / 1000 },
  };
}
