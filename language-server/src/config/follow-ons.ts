// One YAML mistake, one problem: after a syntax error the parser misreads the rest of its top-level
// block (one wrong indent gave 17 problems), so only the block's first syntax error is kept, at its
// place, naming how many follow-on problems it hides; the block's other problems wait until it is fixed.
import type { Problem } from './types';

/** A top-level block (a section, or a top-level key with its value) the parser could not read cleanly. */
interface DamagedBlock {
  /** The top-level key that opens the block ('' before the first one). */
  section: string;
  /** The line of the block's first syntax error: problems ending before it are independent of it. */
  fromLine: number;
  /** The block's last line (the line before the next top-level key). */
  toLine: number;
  cause: Problem;
  hidden: number;
}

/** A top-level key line: starts at column 0 with something other than a comment or a document marker. */
const TOP_LEVEL = /^(?![#\s]|---|\.\.\.)([^:#]*?)\s*:(\s|$)/;

/** The first line of each top-level block and its key, in line order. */
function topLevelKeys(lines: readonly string[]): { line: number; key: string }[] {
  const keys: { line: number; key: string }[] = [];
  lines.forEach((text, line) => {
    const match = TOP_LEVEL.exec(text);
    if (match) keys.push({ line, key: match[1].replace(/^["']|["']$/g, '') });
  });
  return keys;
}

/** The block holding `line`: its key and line span. */
function blockAt(keys: readonly { line: number; key: string }[], lineCount: number, line: number): { section: string; toLine: number } {
  let index = -1;
  for (let i = 0; i < keys.length && keys[i].line <= line; i++) index = i;
  const next = keys[index + 1];
  return { section: index < 0 ? '' : keys[index].key, toLine: next ? next.line - 1 : Math.max(line, lineCount - 1) };
}

const INDENTATION_MESSAGE =
  /must start at the same column|Nested mappings are not allowed in compact|Implicit keys need to be on a single line|bad indentation/i;

export interface FollowOnInput {
  problems: Problem[];
  /** The parser's syntax errors that damage the rest of their block (object identity into `problems`). */
  syntaxErrors: ReadonlySet<Problem>;
  /** Syntax errors that stay local (a duplicate or over-long key): no cause, but hidden inside a damaged block like any follow-on. */
  localSyntaxErrors: ReadonlySet<Problem>;
  /** Problems of the cross-key and file rules: they ran on defaults where a damaged section could not be read. */
  ruleProblems: ReadonlySet<Problem>;
  lines: readonly string[];
}

/**
 * The problems without the follow-ons of a syntax error: per damaged top-level block, its first
 * syntax error stays (its message says what else it hides); every other problem whose range reaches
 * into the block from that line on, and every rule problem about a key of that section, is dropped.
 */
export function withoutFollowOns({ problems, syntaxErrors, localSyntaxErrors, ruleProblems, lines }: FollowOnInput): Problem[] {
  if (syntaxErrors.size === 0) return problems;
  const keys = topLevelKeys(lines);
  const blocks: DamagedBlock[] = [];
  for (const problem of problems) {
    if (!syntaxErrors.has(problem)) continue;
    const line = problem.range.start.line;
    if (blocks.some((block) => line >= block.fromLine && line <= block.toLine)) continue;
    const { section, toLine } = blockAt(keys, lines.length, line);
    blocks.push({ section, fromLine: line, toLine, cause: problem, hidden: 0 });
  }
  const damagedBy = (problem: Problem): DamagedBlock | undefined => {
    const { start, end } = problem.range;
    const inRange = blocks.find((block) => end.line >= block.fromLine && start.line <= block.toLine);
    if (inRange || !ruleProblems.has(problem)) return inRange;
    const section = problem.key.split('.')[0];
    return blocks.find((block) => block.section !== '' && block.section === section);
  };
  const kept: Problem[] = [];
  for (const problem of problems) {
    const block = blocks.find((entry) => entry.cause === problem);
    if (block) {
      kept.push(problem);
      continue;
    }
    const damaged =
      syntaxErrors.has(problem) || localSyntaxErrors.has(problem) ? blocks.find((entry) => contains(entry, problem)) : damagedBy(problem);
    if (damaged) damaged.hidden++;
    else kept.push(problem);
  }
  return kept.map((problem) => {
    const block = blocks.find((entry) => entry.cause === problem);
    return block ? { ...problem, message: causeMessage(block) } : problem;
  });
}

function contains(block: DamagedBlock, problem: Problem): boolean {
  const line = problem.range.start.line;
  return line >= block.fromLine && line <= block.toLine;
}

function causeMessage(block: DamagedBlock): string {
  const where = block.section ? `the rest of '${block.section}'` : 'the lines after it';
  const indentation = INDENTATION_MESSAGE.test(block.cause.message)
    ? ' Check the indentation here and on the line above: the keys of one mapping start at the same column (spaces, not tabs).'
    : '';
  const hidden = block.hidden
    ? ` ${block.hidden} more problem${block.hidden === 1 ? '' : 's'} in ${where} follow${block.hidden === 1 ? 's' : ''} from this one and ${block.hidden === 1 ? 'is' : 'are'} shown once it is fixed.`
    : '';
  if (!indentation && !hidden) return block.cause.message;
  return `${block.cause.message}${/[.!?]$/.test(block.cause.message) ? '' : '.'}${indentation}${hidden}`;
}
