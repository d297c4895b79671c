// The demo's instruction data: short-answer questions over the facts the pretraining corpus states
// (capitals, continents, languages, colours, animal facts, opposites, plurals, what comes next),
// split by item into a train set and a held-out set of unseen items of the same families.
import type { InstructionRecord } from './instructions';
import { Prng } from './prng';
import {
  ANIMALS,
  COLOURED_THINGS,
  COLOURS,
  COUNTRIES,
  DAYS,
  MONTHS,
  NAMES,
  NEGATIVE_WORDS,
  NUMBER_WORDS,
  POSITIVE_WORDS,
  SENTIMENT_TOPICS,
  withArticle,
} from './vocabulary';

/** One question family: an instruction, and (input, answer) items whose facts the corpus states. */
export interface ShortAnswerFamily {
  name: string;
  instruction: string;
  items: readonly (readonly [string, string])[];
  /** Use this many items, drawn at random (for families with many near-identical items). */
  sample?: number;
}

const kind = (words: readonly string[], answer: string): [string, string][] => words.map((w) => [w, answer]);
const feelings = (words: readonly string[], answer: string): [string, string][] =>
  words.flatMap((w) => SENTIMENT_TOPICS.map((t): [string, string] => [`I ${w} ${t}.`, answer]));

/**
 * The families. word-kind and sentiment are skills the base model has the pieces for (word
 * embeddings of the corpus' word classes, feeling words); the knowledge families ask for facts
 * the corpus states in sentences ("A pig is a mammal.") in a question form it never saw.
 */
export const SHORT_ANSWER_FAMILIES: readonly ShortAnswerFamily[] = [
  {
    name: 'word-kind',
    instruction: 'What kind of word is this?',
    items: [
      ...kind(
        COUNTRIES.map((c) => c.name),
        'a country',
      ),
      ...kind(
        ANIMALS.map((a) => a.name),
        'an animal',
      ),
      ...kind(COLOURS, 'a colour'),
      ...kind(DAYS, 'a day'),
      ...kind(MONTHS, 'a month'),
      ...kind(NUMBER_WORDS, 'a number'),
      ...kind(NAMES, 'a name'),
    ],
  },
  {
    name: 'sentiment',
    instruction: 'Is the sentence positive or negative?',
    sample: 48,
    items: [...feelings(POSITIVE_WORDS, 'positive'), ...feelings(NEGATIVE_WORDS, 'negative')],
  },
  {
    name: 'animal-class',
    instruction: 'Classify the animal as a mammal, bird, fish, reptile, insect or amphibian.',
    items: ANIMALS.map((a) => [a.name, a.kind]),
  },
  { name: 'continent', instruction: 'On which continent is this country?', items: COUNTRIES.map((c) => [c.name, c.continent]) },
  { name: 'capital', instruction: 'Name the capital city of the country.', items: COUNTRIES.map((c) => [c.name, c.capital]) },
  {
    name: 'colour',
    instruction: 'Name the usual colour of the thing.',
    items: COLOURED_THINGS.map((t) => [withArticle(t.article, t.noun), t.colour]),
  },
];

export interface ShortAnswerOptions {
  seed: number;
  /** Share of each family's items held out (at least one item per family). */
  heldOutFraction: number;
}

export const DEFAULT_SHORT_ANSWER_OPTIONS: ShortAnswerOptions = { seed: 2468, heldOutFraction: 0.2 };

export interface ShortAnswerRecord extends InstructionRecord {
  family: string;
}

/** Train and held-out records: every item once, the held-out items never in train; deterministic. */
export function generateShortAnswers(options: Partial<ShortAnswerOptions> = {}): {
  train: ShortAnswerRecord[];
  heldOut: ShortAnswerRecord[];
} {
  const opts = { ...DEFAULT_SHORT_ANSWER_OPTIONS, ...options };
  const random = new Prng(opts.seed).fork('short-answers');
  const train: ShortAnswerRecord[] = [];
  const heldOut: ShortAnswerRecord[] = [];
  for (const family of SHORT_ANSWER_FAMILIES) {
    const items = random.sample(family.items, Math.min(family.sample ?? family.items.length, family.items.length));
    const held = Math.max(1, Math.round(items.length * opts.heldOutFraction));
    items.forEach(([input, output], i) =>
      (i < held ? heldOut : train).push({ family: family.name, instruction: family.instruction, input, output }),
    );
  }
  return { train: random.shuffle(train), heldOut: random.shuffle(heldOut) };
}
