// Arithmetic questions in the lm-evaluation-harness / GPT-3 "arithmetic" style
// ("Question: What is 59 minus 38?\nAnswer:" + " 21"), and the fixed held-out 2-digit set.
import { Prng } from './prng';

export type ArithmeticOperator = 'plus' | 'minus';

export interface ArithmeticQuestion {
  left: number;
  operator: ArithmeticOperator;
  right: number;
}

/** One evaluation record, as in the harness's EleutherAI/arithmetic data: context + completion. */
export interface ArithmeticRecord {
  context: string;
  completion: string;
}

export function answerOf(question: ArithmeticQuestion): number {
  return question.operator === 'plus' ? question.left + question.right : question.left - question.right;
}

/** "Question: What is 59 minus 38?\nAnswer:" (no trailing space; the completion starts with one). */
export function arithmeticContext(question: ArithmeticQuestion): string {
  return `Question: What is ${question.left} ${question.operator} ${question.right}?\nAnswer:`;
}

export function arithmeticRecord(question: ArithmeticQuestion): ArithmeticRecord {
  return { context: arithmeticContext(question), completion: ` ${answerOf(question)}` };
}

/** The full pretraining text of one question: context immediately followed by completion. */
export function arithmeticText(question: ArithmeticQuestion): string {
  const record = arithmeticRecord(question);
  return record.context + record.completion;
}

export function questionKey(question: ArithmeticQuestion): string {
  return `${question.left} ${question.operator} ${question.right}`;
}

/** Every 2-digit question (operands 10..99, both operators): 2 x 90 x 90 = 16200. Subtraction may go negative, as in the harness. */
export function allTwoDigitQuestions(): ArithmeticQuestion[] {
  const questions: ArithmeticQuestion[] = [];
  for (const operator of ['plus', 'minus'] as const) {
    for (let left = 10; left <= 99; left++) {
      for (let right = 10; right <= 99; right++) questions.push({ left, operator, right });
    }
  }
  return questions;
}

/**
 * The held-out 2-digit set: `perOperator` distinct additions and as many subtractions, chosen by
 * `seed`, interleaved plus/minus. The corpus never contains these questions.
 */
export function heldOutTwoDigitQuestions(seed: number, perOperator: number): ArithmeticQuestion[] {
  const random = new Prng(seed).fork('arithmetic-heldout');
  const all = allTwoDigitQuestions();
  const plus = random.sample(
    all.filter((q) => q.operator === 'plus'),
    perOperator,
  );
  const minus = random.sample(
    all.filter((q) => q.operator === 'minus'),
    perOperator,
  );
  const interleaved: ArithmeticQuestion[] = [];
  for (let i = 0; i < perOperator; i++) interleaved.push(plus[i], minus[i]);
  return interleaved;
}

/** `count` random 4-digit questions (operands 1000..9999), never one in `excluded`. */
export function fourDigitQuestions(random: Prng, count: number, excluded: ReadonlySet<string> = new Set()): ArithmeticQuestion[] {
  const questions: ArithmeticQuestion[] = [];
  while (questions.length < count) {
    const question: ArithmeticQuestion = {
      left: random.int(1000, 9999),
      operator: random.chance(0.5) ? 'plus' : 'minus',
      right: random.int(1000, 9999),
    };
    if (!excluded.has(questionKey(question))) questions.push(question);
  }
  return questions;
}

/** JSON Lines, one record per line, ending with a newline. */
export function toJsonl(records: readonly object[]): string {
  return records.map((record) => JSON.stringify(record)).join('\n') + '\n';
}
