// The tiny model's pretraining corpus, generated procedurally and deterministically: harness-style
// arithmetic (minus a held-out set), simple English statements, Alpaca-format and chat-format text.
import {
  allTwoDigitQuestions,
  arithmeticRecord,
  arithmeticText,
  fourDigitQuestions,
  heldOutTwoDigitQuestions,
  questionKey,
  type ArithmeticRecord,
} from './arithmetic';
import { KNOWLEDGE_TASKS, simpleStatement, type InstructionRecord } from './instructions';
import { alpacaText, chatUserContent, renderChat, type ChatMessage } from './prompts';
import { Prng } from './prng';
import {
  ANIMALS,
  COLOURED_THINGS,
  COUNTRIES,
  DAYS,
  MONTHS,
  NOUN_PLURALS,
  NUMBER_WORDS,
  OPPOSITES,
  SEASONS,
  capitaliseFirst,
  withArticle,
} from './vocabulary';

export type CorpusKind = 'arithmetic_2d' | 'arithmetic_4d' | 'statements' | 'alpaca' | 'chat';

export interface CorpusDocument {
  kind: CorpusKind;
  text: string;
}

export interface CorpusOptions {
  /** Seed of everything random in the corpus and the held-out set. */
  seed: number;
  /** Held-out 2-digit questions per operator (plus, minus), never in the corpus. */
  heldOutPerOperator: number;
  /** How many of the remaining 2-digit questions to include (all 16200 - held-out when null). */
  twoDigitCount: number | null;
  fourDigitCount: number;
  /** Paragraphs of one to four simple English statements. */
  statementDocs: number;
  /** Knowledge-task records rendered with the Alpaca prompt. */
  alpacaDocs: number;
  /** Knowledge-task conversations rendered with the chat template (without <s>, with </s>). */
  chatDocs: number;
  /** The end-of-sequence token string used to close assistant turns in chat documents. */
  eosToken: string;
}

export const DEFAULT_CORPUS_OPTIONS: CorpusOptions = {
  seed: 1234,
  heldOutPerOperator: 100,
  twoDigitCount: null,
  fourDigitCount: 6000,
  statementDocs: 8000,
  alpacaDocs: 3000,
  chatDocs: 2000,
  eosToken: '</s>',
};

export interface Corpus {
  /** Shuffled documents; the pretraining packer adds <s> before and </s> after each one. */
  documents: CorpusDocument[];
  /** The held-out 2-digit evaluation records (harness format). */
  heldOut: ArithmeticRecord[];
}

type StatementMaker = (random: Prng) => string;

const STATEMENT_MAKERS: readonly StatementMaker[] = [
  (random) => {
    const thing = random.pick(COLOURED_THINGS);
    const phrase = withArticle(thing.article, thing.noun);
    return random.chance(0.5) ? `${capitaliseFirst(phrase)} is ${thing.colour}.` : `The colour of ${phrase} is ${thing.colour}.`;
  },
  (random) => {
    const animal = random.pick(ANIMALS);
    const kindArticle = /^[aeiou]/.test(animal.kind) ? 'an' : 'a';
    const subject = `${capitaliseFirst(animal.article)} ${animal.name}`;
    const facts = [
      `${subject} is ${kindArticle} ${animal.kind}.`,
      `${subject} lives in ${animal.home}.`,
      `${capitaliseFirst(animal.plural)} are animals.`,
    ];
    if (animal.sound) facts.push(`${subject} ${animal.sound}.`);
    return random.pick(facts);
  },
  (random) => {
    const [big, small] = random.sample(ANIMALS, 2).sort((a, b) => b.size - a.size);
    if (big.size === small.size)
      return `${capitaliseFirst(big.article)} ${big.name} and ${small.article} ${small.name} are about the same size.`;
    return random.chance(0.5)
      ? `${capitaliseFirst(big.article)} ${big.name} is bigger than ${small.article} ${small.name}.`
      : `${capitaliseFirst(small.article)} ${small.name} is smaller than ${big.article} ${big.name}.`;
  },
  (random) => {
    const country = random.pick(COUNTRIES);
    return random.pick([
      `${country.capital} is the capital of ${country.name}.`,
      `${country.name} is a country in ${country.continent}.`,
      `People in ${country.name} speak ${country.language}.`,
      `The capital of ${country.name} is ${country.capital}.`,
    ]);
  },
  (random) => {
    const start = random.int(0, NUMBER_WORDS.length - 4);
    const length = random.int(3, Math.min(8, NUMBER_WORDS.length - start));
    const words = NUMBER_WORDS.slice(start, start + length);
    return random.chance(0.6) ? `${capitaliseFirst(words.join(', '))}.` : `After ${words[0]} comes ${words[1]}.`;
  },
  (random) => {
    const [list, unit] = random.chance(0.6) ? [DAYS, 'day'] : [MONTHS, 'month'];
    const index = random.int(0, list.length - 2);
    return random.pick([
      `${list[index]} comes before ${list[index + 1]}.`,
      `The ${unit} after ${list[index]} is ${list[index + 1]}.`,
      `The ${unit === 'day' ? 'days of the week' : 'months of the year'} are ${list.join(', ')}.`,
    ]);
  },
  (random) => {
    const [season, fact] = random.pick(SEASONS);
    return `In ${season}, ${fact}.`;
  },
  (random) => {
    const [word, other] = random.pick(OPPOSITES);
    return random.chance(0.5) ? `The opposite of ${word} is ${other}.` : `${capitaliseFirst(other)} is the opposite of ${word}.`;
  },
  (random) => {
    const [singular, plural] = random.pick(NOUN_PLURALS);
    return `One ${singular}, ${random.pick(NUMBER_WORDS.slice(2, 11))} ${plural}.`;
  },
  (random) => simpleStatement(random),
];

function statementParagraph(random: Prng): string {
  const count = random.int(1, 4);
  const sentences: string[] = [];
  for (let i = 0; i < count; i++) sentences.push(random.pick(STATEMENT_MAKERS)(random));
  return sentences.join(' ');
}

export function knowledgeRecord(random: Prng): InstructionRecord {
  const tasks = Object.values(KNOWLEDGE_TASKS);
  return random.pick(tasks)(random);
}

function chatDocument(random: Prng, eosToken: string): string {
  const messages: ChatMessage[] = [];
  if (random.chance(0.3)) messages.push({ role: 'system', content: 'You are a helpful assistant.' });
  const turns = random.chance(0.7) ? 1 : 2;
  for (let turn = 0; turn < turns; turn++) {
    const record = knowledgeRecord(random);
    messages.push({ role: 'user', content: chatUserContent(record) }, { role: 'assistant', content: record.output });
  }
  return renderChat(messages, { bosToken: '', eosToken });
}

/** Generates the corpus; the same options always give the same documents in the same order. */
export function generateCorpus(options: Partial<CorpusOptions> = {}): Corpus {
  const opts: CorpusOptions = { ...DEFAULT_CORPUS_OPTIONS, ...options };
  const root = new Prng(opts.seed);
  const heldOutQuestions = heldOutTwoDigitQuestions(opts.seed, opts.heldOutPerOperator);
  const heldOutKeys = new Set(heldOutQuestions.map(questionKey));

  const documents: CorpusDocument[] = [];
  const arithmeticRandom = root.fork('arithmetic');
  const twoDigit = arithmeticRandom.shuffle(allTwoDigitQuestions().filter((q) => !heldOutKeys.has(questionKey(q))));
  for (const question of twoDigit.slice(0, opts.twoDigitCount ?? twoDigit.length)) {
    documents.push({ kind: 'arithmetic_2d', text: arithmeticText(question) });
  }
  for (const question of fourDigitQuestions(arithmeticRandom, opts.fourDigitCount)) {
    documents.push({ kind: 'arithmetic_4d', text: arithmeticText(question) });
  }
  const statementRandom = root.fork('statements');
  for (let i = 0; i < opts.statementDocs; i++) documents.push({ kind: 'statements', text: statementParagraph(statementRandom) });
  const alpacaRandom = root.fork('alpaca-text');
  for (let i = 0; i < opts.alpacaDocs; i++) documents.push({ kind: 'alpaca', text: alpacaText(knowledgeRecord(alpacaRandom)) });
  const chatRandom = root.fork('chat-text');
  for (let i = 0; i < opts.chatDocs; i++) documents.push({ kind: 'chat', text: chatDocument(chatRandom, opts.eosToken) });

  root.fork('order').shuffle(documents);
  return { documents, heldOut: heldOutQuestions.map(arithmeticRecord) };
}

export interface CorpusStats {
  documents: number;
  characters: number;
  utf8Bytes: number;
  byKind: Record<CorpusKind, number>;
}

export function corpusStats(corpus: Corpus): CorpusStats {
  const byKind: Record<CorpusKind, number> = { arithmetic_2d: 0, arithmetic_4d: 0, statements: 0, alpaca: 0, chat: 0 };
  let characters = 0;
  let utf8Bytes = 0;
  for (const document of corpus.documents) {
    byKind[document.kind]++;
    characters += document.text.length;
    utf8Bytes += Buffer.byteLength(document.text, 'utf8');
  }
  return { documents: corpus.documents.length, characters, utf8Bytes, byKind };
}
