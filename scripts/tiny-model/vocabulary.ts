// Word lists and small facts behind the tiny-model corpus and instruction dataset: things and their
// colours, animals, countries, opposites, plurals, verbs, days. Kept true and simple on purpose.

/** A thing, its article-less noun and its usual colour. */
export interface ColouredThing {
  noun: string;
  article: 'a' | 'an' | 'the' | '';
  colour: string;
}

export const COLOURED_THINGS: readonly ColouredThing[] = [
  { noun: 'banana', article: 'a', colour: 'yellow' },
  { noun: 'lemon', article: 'a', colour: 'yellow' },
  { noun: 'sun', article: 'the', colour: 'yellow' },
  { noun: 'grass', article: '', colour: 'green' },
  { noun: 'leaf', article: 'a', colour: 'green' },
  { noun: 'frog', article: 'a', colour: 'green' },
  { noun: 'lime', article: 'a', colour: 'green' },
  { noun: 'sky', article: 'the', colour: 'blue' },
  { noun: 'sea', article: 'the', colour: 'blue' },
  { noun: 'blueberry', article: 'a', colour: 'blue' },
  { noun: 'tomato', article: 'a', colour: 'red' },
  { noun: 'strawberry', article: 'a', colour: 'red' },
  { noun: 'cherry', article: 'a', colour: 'red' },
  { noun: 'fire truck', article: 'a', colour: 'red' },
  { noun: 'snow', article: '', colour: 'white' },
  { noun: 'milk', article: '', colour: 'white' },
  { noun: 'cloud', article: 'a', colour: 'white' },
  { noun: 'coal', article: '', colour: 'black' },
  { noun: 'crow', article: 'a', colour: 'black' },
  { noun: 'night sky', article: 'the', colour: 'black' },
  { noun: 'carrot', article: 'a', colour: 'orange' },
  { noun: 'pumpkin', article: 'a', colour: 'orange' },
  { noun: 'orange', article: 'an', colour: 'orange' },
  { noun: 'plum', article: 'a', colour: 'purple' },
  { noun: 'grape', article: 'a', colour: 'purple' },
  { noun: 'violet', article: 'a', colour: 'purple' },
  { noun: 'chocolate', article: '', colour: 'brown' },
  { noun: 'tree trunk', article: 'a', colour: 'brown' },
  { noun: 'bear', article: 'a', colour: 'brown' },
  { noun: 'flamingo', article: 'a', colour: 'pink' },
  { noun: 'pig', article: 'a', colour: 'pink' },
  { noun: 'elephant', article: 'an', colour: 'grey' },
  { noun: 'mouse', article: 'a', colour: 'grey' },
  { noun: 'storm cloud', article: 'a', colour: 'grey' },
];

export const COLOURS: readonly string[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey'];

export type AnimalClass = 'mammal' | 'bird' | 'fish' | 'reptile' | 'insect' | 'amphibian';

export interface Animal {
  name: string;
  article: 'a' | 'an';
  plural: string;
  kind: AnimalClass;
  sound: string | null;
  home: string;
  size: number;
}

/** size: a rough rank, larger is bigger (used for "bigger than" statements). */
export const ANIMALS: readonly Animal[] = [
  { name: 'dog', article: 'a', plural: 'dogs', kind: 'mammal', sound: 'barks', home: 'a kennel', size: 5 },
  { name: 'cat', article: 'a', plural: 'cats', kind: 'mammal', sound: 'meows', home: 'a house', size: 4 },
  { name: 'cow', article: 'a', plural: 'cows', kind: 'mammal', sound: 'moos', home: 'a field', size: 8 },
  { name: 'horse', article: 'a', plural: 'horses', kind: 'mammal', sound: 'neighs', home: 'a stable', size: 8 },
  { name: 'sheep', article: 'a', plural: 'sheep', kind: 'mammal', sound: 'bleats', home: 'a field', size: 6 },
  { name: 'pig', article: 'a', plural: 'pigs', kind: 'mammal', sound: 'oinks', home: 'a sty', size: 6 },
  { name: 'lion', article: 'a', plural: 'lions', kind: 'mammal', sound: 'roars', home: 'the savanna', size: 7 },
  { name: 'mouse', article: 'a', plural: 'mice', kind: 'mammal', sound: 'squeaks', home: 'a hole', size: 1 },
  { name: 'elephant', article: 'an', plural: 'elephants', kind: 'mammal', sound: 'trumpets', home: 'the savanna', size: 10 },
  { name: 'whale', article: 'a', plural: 'whales', kind: 'mammal', sound: 'sings', home: 'the ocean', size: 11 },
  { name: 'wolf', article: 'a', plural: 'wolves', kind: 'mammal', sound: 'howls', home: 'the forest', size: 5 },
  { name: 'fox', article: 'a', plural: 'foxes', kind: 'mammal', sound: 'yelps', home: 'a den', size: 4 },
  { name: 'duck', article: 'a', plural: 'ducks', kind: 'bird', sound: 'quacks', home: 'a pond', size: 3 },
  { name: 'owl', article: 'an', plural: 'owls', kind: 'bird', sound: 'hoots', home: 'a tree', size: 3 },
  { name: 'eagle', article: 'an', plural: 'eagles', kind: 'bird', sound: 'screeches', home: 'a nest', size: 4 },
  { name: 'hen', article: 'a', plural: 'hens', kind: 'bird', sound: 'clucks', home: 'a coop', size: 3 },
  { name: 'goose', article: 'a', plural: 'geese', kind: 'bird', sound: 'honks', home: 'a lake', size: 4 },
  { name: 'salmon', article: 'a', plural: 'salmon', kind: 'fish', sound: null, home: 'a river', size: 3 },
  { name: 'shark', article: 'a', plural: 'sharks', kind: 'fish', sound: null, home: 'the ocean', size: 9 },
  { name: 'goldfish', article: 'a', plural: 'goldfish', kind: 'fish', sound: null, home: 'a bowl', size: 1 },
  { name: 'snake', article: 'a', plural: 'snakes', kind: 'reptile', sound: 'hisses', home: 'the grass', size: 3 },
  { name: 'turtle', article: 'a', plural: 'turtles', kind: 'reptile', sound: null, home: 'a pond', size: 3 },
  { name: 'lizard', article: 'a', plural: 'lizards', kind: 'reptile', sound: null, home: 'a rock', size: 2 },
  { name: 'bee', article: 'a', plural: 'bees', kind: 'insect', sound: 'buzzes', home: 'a hive', size: 0 },
  { name: 'ant', article: 'an', plural: 'ants', kind: 'insect', sound: null, home: 'an anthill', size: 0 },
  { name: 'butterfly', article: 'a', plural: 'butterflies', kind: 'insect', sound: null, home: 'a garden', size: 0 },
  { name: 'frog', article: 'a', plural: 'frogs', kind: 'amphibian', sound: 'croaks', home: 'a pond', size: 1 },
  { name: 'toad', article: 'a', plural: 'toads', kind: 'amphibian', sound: 'croaks', home: 'a marsh', size: 1 },
];

export interface Country {
  name: string;
  capital: string;
  continent: string;
  language: string;
}

export const COUNTRIES: readonly Country[] = [
  { name: 'France', capital: 'Paris', continent: 'Europe', language: 'French' },
  { name: 'Germany', capital: 'Berlin', continent: 'Europe', language: 'German' },
  { name: 'Italy', capital: 'Rome', continent: 'Europe', language: 'Italian' },
  { name: 'Spain', capital: 'Madrid', continent: 'Europe', language: 'Spanish' },
  { name: 'Portugal', capital: 'Lisbon', continent: 'Europe', language: 'Portuguese' },
  { name: 'Greece', capital: 'Athens', continent: 'Europe', language: 'Greek' },
  { name: 'Poland', capital: 'Warsaw', continent: 'Europe', language: 'Polish' },
  { name: 'Sweden', capital: 'Stockholm', continent: 'Europe', language: 'Swedish' },
  { name: 'Norway', capital: 'Oslo', continent: 'Europe', language: 'Norwegian' },
  { name: 'Japan', capital: 'Tokyo', continent: 'Asia', language: 'Japanese' },
  { name: 'China', capital: 'Beijing', continent: 'Asia', language: 'Chinese' },
  { name: 'India', capital: 'New Delhi', continent: 'Asia', language: 'Hindi' },
  { name: 'Thailand', capital: 'Bangkok', continent: 'Asia', language: 'Thai' },
  { name: 'Egypt', capital: 'Cairo', continent: 'Africa', language: 'Arabic' },
  { name: 'Kenya', capital: 'Nairobi', continent: 'Africa', language: 'Swahili' },
  { name: 'Canada', capital: 'Ottawa', continent: 'North America', language: 'English' },
  { name: 'Mexico', capital: 'Mexico City', continent: 'North America', language: 'Spanish' },
  { name: 'Brazil', capital: 'Brasilia', continent: 'South America', language: 'Portuguese' },
  { name: 'Argentina', capital: 'Buenos Aires', continent: 'South America', language: 'Spanish' },
  { name: 'Peru', capital: 'Lima', continent: 'South America', language: 'Spanish' },
  { name: 'Australia', capital: 'Canberra', continent: 'Oceania', language: 'English' },
];

export const OPPOSITES: readonly (readonly [string, string])[] = [
  ['hot', 'cold'],
  ['big', 'small'],
  ['tall', 'short'],
  ['fast', 'slow'],
  ['happy', 'sad'],
  ['light', 'dark'],
  ['up', 'down'],
  ['open', 'closed'],
  ['wet', 'dry'],
  ['old', 'young'],
  ['hard', 'soft'],
  ['full', 'empty'],
  ['early', 'late'],
  ['loud', 'quiet'],
  ['rich', 'poor'],
  ['strong', 'weak'],
  ['clean', 'dirty'],
  ['day', 'night'],
  ['left', 'right'],
  ['inside', 'outside'],
  ['sweet', 'sour'],
  ['thick', 'thin'],
  ['near', 'far'],
  ['good', 'bad'],
  ['first', 'last'],
  ['win', 'lose'],
  ['push', 'pull'],
  ['begin', 'end'],
  ['above', 'below'],
  ['true', 'false'],
];

/** Nouns with their plurals (regular and irregular). */
export const NOUN_PLURALS: readonly (readonly [string, string])[] = [
  ['apple', 'apples'],
  ['book', 'books'],
  ['box', 'boxes'],
  ['bus', 'buses'],
  ['church', 'churches'],
  ['baby', 'babies'],
  ['city', 'cities'],
  ['leaf', 'leaves'],
  ['knife', 'knives'],
  ['child', 'children'],
  ['man', 'men'],
  ['woman', 'women'],
  ['tooth', 'teeth'],
  ['foot', 'feet'],
  ['mouse', 'mice'],
  ['person', 'people'],
  ['fish', 'fish'],
  ['sheep', 'sheep'],
  ['potato', 'potatoes'],
  ['dish', 'dishes'],
  ['car', 'cars'],
  ['tree', 'trees'],
  ['house', 'houses'],
  ['glass', 'glasses'],
  ['story', 'stories'],
  ['wolf', 'wolves'],
  ['goose', 'geese'],
  ['key', 'keys'],
  ['toy', 'toys'],
  ['watch', 'watches'],
  ['chair', 'chairs'],
  ['river', 'rivers'],
  ['cherry', 'cherries'],
  ['bird', 'birds'],
  ['fox', 'foxes'],
];

/** Verbs: base form, third person, past tense. */
export const VERBS: readonly (readonly [string, string, string])[] = [
  ['walk', 'walks', 'walked'],
  ['jump', 'jumps', 'jumped'],
  ['play', 'plays', 'played'],
  ['cook', 'cooks', 'cooked'],
  ['paint', 'paints', 'painted'],
  ['watch', 'watches', 'watched'],
  ['clean', 'cleans', 'cleaned'],
  ['open', 'opens', 'opened'],
  ['run', 'runs', 'ran'],
  ['eat', 'eats', 'ate'],
  ['see', 'sees', 'saw'],
  ['write', 'writes', 'wrote'],
  ['read', 'reads', 'read'],
  ['sing', 'sings', 'sang'],
  ['swim', 'swims', 'swam'],
  ['drink', 'drinks', 'drank'],
  ['find', 'finds', 'found'],
  ['make', 'makes', 'made'],
  ['take', 'takes', 'took'],
  ['build', 'builds', 'built'],
  ['carry', 'carries', 'carried'],
  ['climb', 'climbs', 'climbed'],
  ['draw', 'draws', 'drew'],
  ['throw', 'throws', 'threw'],
];

/** Objects that go with the verbs above, loosely: "Tom paints a fence." */
export const VERB_OBJECTS: Readonly<Record<string, readonly string[]>> = {
  walk: ['to school', 'in the park', 'home'],
  jump: ['over the fence', 'into the pool', 'on the bed'],
  play: ['with a ball', 'the piano', 'in the garden'],
  cook: ['dinner', 'some soup', 'an egg'],
  paint: ['a picture', 'the fence', 'a red door'],
  watch: ['the birds', 'a film', 'the rain'],
  clean: ['the kitchen', 'the car', 'her room'],
  open: ['the window', 'a letter', 'the box'],
  run: ['to the shop', 'in the park', 'very fast'],
  eat: ['an apple', 'some bread', 'a sandwich'],
  see: ['a rainbow', 'the moon', 'a big ship'],
  write: ['a letter', 'a story', 'a poem'],
  read: ['a book', 'the news', 'a map'],
  sing: ['a song', 'in the choir', 'very loudly'],
  swim: ['in the lake', 'in the sea', 'across the river'],
  drink: ['some water', 'a cup of tea', 'warm milk'],
  find: ['a coin', 'the key', 'a lost cat'],
  make: ['a cake', 'a kite', 'a sandcastle'],
  take: ['the bus', 'a photo', 'a short nap'],
  build: ['a house', 'a tower', 'a birdhouse'],
  carry: ['a bag', 'the box', 'a basket'],
  climb: ['a tree', 'the hill', 'the stairs'],
  draw: ['a cat', 'a map', 'a circle'],
  throw: ['a ball', 'a stone', 'the frisbee'],
};

export const NAMES: readonly string[] = [
  'Tom',
  'Anna',
  'Sam',
  'Lily',
  'Ben',
  'Mia',
  'Leo',
  'Emma',
  'Jack',
  'Zoe',
  'Max',
  'Nora',
  'Omar',
  'Rosa',
  'Ivan',
  'Yuki',
];

export const DAYS: readonly string[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export const MONTHS: readonly string[] = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export const SEASONS: readonly (readonly [string, string])[] = [
  ['spring', 'flowers bloom'],
  ['summer', 'the days are long and warm'],
  ['autumn', 'leaves fall from the trees'],
  ['winter', 'it is cold and it may snow'],
];

export const NUMBER_WORDS: readonly string[] = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
];

export const CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  fruits: ['apple', 'banana', 'cherry', 'grape', 'lemon', 'mango', 'orange', 'pear', 'plum', 'peach'],
  vegetables: ['carrot', 'potato', 'onion', 'pea', 'cabbage', 'lettuce', 'pepper', 'spinach', 'leek', 'bean'],
  colours: COLOURS,
  tools: ['hammer', 'saw', 'drill', 'wrench', 'shovel', 'rake', 'screwdriver', 'ladder', 'chisel', 'spanner'],
  instruments: ['piano', 'guitar', 'violin', 'drum', 'flute', 'trumpet', 'cello', 'harp', 'clarinet', 'banjo'],
  vehicles: ['car', 'bus', 'train', 'bicycle', 'boat', 'plane', 'truck', 'tram', 'scooter', 'ship'],
  birds: ['duck', 'owl', 'eagle', 'hen', 'goose', 'robin', 'sparrow', 'swan', 'parrot', 'crow'],
  sports: ['football', 'tennis', 'swimming', 'cycling', 'rowing', 'running', 'skiing', 'boxing', 'golf', 'hockey'],
};

export const POSITIVE_WORDS: readonly string[] = ['love', 'enjoy', 'like', 'adore', 'am delighted by', 'am happy with'];
export const NEGATIVE_WORDS: readonly string[] = ['hate', 'dislike', 'cannot stand', 'am annoyed by', 'am tired of', 'am unhappy with'];
export const SENTIMENT_TOPICS: readonly string[] = [
  'this film',
  'the new cafe',
  'my old phone',
  'the weather today',
  'this book',
  'the long train ride',
  'the noisy street',
  'our garden',
  'the quiet library',
  'this song',
  'the cold soup',
  'the school trip',
];

/** "a cat", "an owl", "snow" (mass nouns keep no article). */
export function withArticle(article: string, noun: string): string {
  return article ? `${article} ${noun}` : noun;
}

export function capitaliseFirst(text: string): string {
  return text.length === 0 ? text : text[0].toUpperCase() + text.slice(1);
}
