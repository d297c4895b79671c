// Instruction/response tasks with outputs computed from the word lists: "knowledge" tasks (also in
// the pretraining corpus) and "skill" tasks (only in the Alpaca dataset). No arithmetic, no digits.
import { Prng } from './prng';
import {
  ANIMALS,
  CATEGORIES,
  COLOURED_THINGS,
  COUNTRIES,
  DAYS,
  MONTHS,
  NAMES,
  NEGATIVE_WORDS,
  NOUN_PLURALS,
  OPPOSITES,
  POSITIVE_WORDS,
  SENTIMENT_TOPICS,
  VERBS,
  VERB_OBJECTS,
  capitaliseFirst,
  withArticle,
} from './vocabulary';

/** One Alpaca record; `input` is '' when the task needs none. */
export interface InstructionRecord {
  instruction: string;
  input: string;
  output: string;
}

export type InstructionTask = (random: Prng) => InstructionRecord;

const record = (instruction: string, input: string, output: string): InstructionRecord => ({ instruction, input, output });

function colourOf(random: Prng): InstructionRecord {
  const thing = random.pick(COLOURED_THINGS);
  const phrase = withArticle(thing.article, thing.noun);
  if (random.chance(0.5)) return record(`What colour is ${phrase}?`, '', `${capitaliseFirst(phrase)} is ${thing.colour}.`);
  return record('Name the usual colour of the thing.', phrase, thing.colour);
}

function capitalOf(random: Prng): InstructionRecord {
  const country = random.pick(COUNTRIES);
  if (random.chance(0.5))
    return record(`What is the capital of ${country.name}?`, '', `The capital of ${country.name} is ${country.capital}.`);
  return record('Name the capital city of the country.', country.name, country.capital);
}

function continentOf(random: Prng): InstructionRecord {
  const country = random.pick(COUNTRIES);
  if (random.chance(0.5)) return record(`On which continent is ${country.name}?`, '', `${country.name} is in ${country.continent}.`);
  return record(
    'Which language is mainly spoken in this country?',
    country.name,
    `${country.language} is mainly spoken in ${country.name}.`,
  );
}

function animalSound(random: Prng): InstructionRecord {
  const animal = random.pick(ANIMALS.filter((a) => a.sound !== null));
  return record(
    `What sound does ${animal.article} ${animal.name} make?`,
    '',
    `${capitaliseFirst(animal.article)} ${animal.name} ${animal.sound}.`,
  );
}

function animalClass(random: Prng): InstructionRecord {
  const animal = random.pick(ANIMALS);
  if (random.chance(0.5)) {
    const kindArticle = /^[aeiou]/.test(animal.kind) ? 'an' : 'a';
    return record(
      `What kind of animal is ${animal.article} ${animal.name}?`,
      '',
      `${capitaliseFirst(animal.article)} ${animal.name} is ${kindArticle} ${animal.kind}.`,
    );
  }
  return record('Classify the animal as a mammal, bird, fish, reptile, insect or amphibian.', animal.name, animal.kind);
}

function opposite(random: Prng): InstructionRecord {
  const pair = random.pick(OPPOSITES);
  const [word, other] = random.chance(0.5) ? pair : [pair[1], pair[0]];
  if (random.chance(0.5)) return record(`What is the opposite of ${word}?`, '', `The opposite of ${word} is ${other}.`);
  return record('Give the opposite of the word.', word, other);
}

function nextInCycle(random: Prng): InstructionRecord {
  const [list, unit] = random.chance(0.6) ? [DAYS, 'day'] : [MONTHS, 'month'];
  const index = random.int(0, list.length - 1);
  const after = list[(index + 1) % list.length];
  const before = list[(index + list.length - 1) % list.length];
  if (random.chance(0.5)) return record(`Which ${unit} comes after ${list[index]}?`, '', `${after} comes after ${list[index]}.`);
  return record(`Which ${unit} comes before ${list[index]}?`, '', `${before} comes before ${list[index]}.`);
}

function plural(random: Prng): InstructionRecord {
  const [singular, plural] = random.pick(NOUN_PLURALS);
  if (random.chance(0.5)) return record('Write the plural form of the noun.', singular, plural);
  return record(`What is the plural of "${singular}"?`, '', `The plural of "${singular}" is "${plural}".`);
}

/** "Anna paints the fence." with the verb in the present (third person) and the past tense. */
function simpleSentence(random: Prng): { present: string; past: string } {
  const name = random.pick(NAMES);
  const [base, third, past] = random.pick(VERBS);
  const object = random.pick(VERB_OBJECTS[base]);
  return { present: `${name} ${third} ${object}.`, past: `${name} ${past} ${object}.` };
}

function pastTense(random: Prng): InstructionRecord {
  const sentence = simpleSentence(random);
  return record('Rewrite the sentence in the past tense.', sentence.present, sentence.past);
}

function pickWords(random: Prng, count: number): string[] {
  const category = random.pick(Object.keys(CATEGORIES));
  return random.sample(CATEGORIES[category], count);
}

const alphabetical = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortWords(random: Prng): InstructionRecord {
  const words = pickWords(random, random.int(3, 6));
  const sorted = words.slice().sort(alphabetical);
  if (random.chance(0.3)) return record('Sort the words in alphabetical order, one per line.', words.join('\n'), sorted.join('\n'));
  return record('Sort these words in alphabetical order.', words.join(', '), sorted.join(', '));
}

function titleCase(random: Prng): InstructionRecord {
  const sentence = simpleSentence(random).present.slice(0, -1).toLowerCase();
  return record('Capitalise the first letter of every word.', sentence, sentence.split(' ').map(capitaliseFirst).join(' '));
}

function upperCase(random: Prng): InstructionRecord {
  const sentence = simpleSentence(random).past;
  return record('Write the sentence in capital letters.', sentence, sentence.toUpperCase());
}

function reverseWords(random: Prng): InstructionRecord {
  const words = pickWords(random, random.int(3, 5));
  return record('Reverse the order of the words.', words.join(' '), words.slice().reverse().join(' '));
}

function firstLetter(random: Prng): InstructionRecord {
  const word = random.pick(pickWords(random, 3));
  return record('What is the first letter of the word?', word, `The first letter of "${word}" is "${word[0]}".`);
}

function sentiment(random: Prng): InstructionRecord {
  const positive = random.chance(0.5);
  const feeling = random.pick(positive ? POSITIVE_WORDS : NEGATIVE_WORDS);
  const sentence = `I ${feeling} ${random.pick(SENTIMENT_TOPICS)}.`;
  return record('Classify the sentiment of the sentence as positive or negative.', sentence, positive ? 'positive' : 'negative');
}

const COUNT_WORDS = ['two', 'three', 'four', 'five'];

function listCategory(random: Prng): InstructionRecord {
  const category = random.pick(Object.keys(CATEGORIES));
  const howMany = random.int(2, 5);
  const items = random.sample(CATEGORIES[category], howMany);
  return record(`List ${COUNT_WORDS[howMany - 2]} ${category}.`, '', items.map((item) => `- ${item}`).join('\n'));
}

function oddOneOut(random: Prng): InstructionRecord {
  const categories = random.sample(Object.keys(CATEGORIES), 2);
  const odd = random.pick(CATEGORIES[categories[1]].filter((w) => !CATEGORIES[categories[0]].includes(w)));
  const words = random.shuffle([
    ...random.sample(
      CATEGORIES[categories[0]].filter((w) => w !== odd),
      3,
    ),
    odd,
  ]);
  return record('Which word does not belong with the others?', words.join(', '), odd);
}

/** Tasks whose records also appear (as Alpaca-format and chat text) in the pretraining corpus. */
export const KNOWLEDGE_TASKS: Readonly<Record<string, InstructionTask>> = {
  colourOf,
  capitalOf,
  continentOf,
  animalSound,
  animalClass,
  opposite,
  nextInCycle,
};

/** Tasks only in the Alpaca dataset, so that finetuning visibly teaches something new. */
export const SKILL_TASKS: Readonly<Record<string, InstructionTask>> = {
  plural,
  pastTense,
  sortWords,
  titleCase,
  upperCase,
  reverseWords,
  firstLetter,
  sentiment,
  listCategory,
  oddOneOut,
};

/** A sentence in the simple present, for the corpus's statements ("Mia climbs the hill."). */
export function simpleStatement(random: Prng): string {
  return simpleSentence(random).present;
}
