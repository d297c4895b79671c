// The sweep expression language ('=2*lora.r'): numbers, + - * / **, parentheses and dotted key
// references. Our own tokenizer and recursive-descent parser: configs come from untrusted
// workspaces, so nothing is ever passed to eval or new Function.

export type Expression =
  | { kind: 'number'; value: number; column: number }
  | { kind: 'key'; key: string; column: number }
  | { kind: 'unary'; op: '-' | '+'; operand: Expression; column: number }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '**'; left: Expression; right: Expression; column: number };

/** `column` is 0-based within the expression text (the text after '='). */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

type Token =
  | { kind: 'number'; value: number; column: number }
  | { kind: 'key'; key: string; column: number }
  | { kind: 'op'; op: string; column: number }
  | { kind: 'end'; column: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    const number = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), column: i });
      i += number[0].length;
      continue;
    }
    const key = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i));
    if (key) {
      tokens.push({ kind: 'key', key: key[0], column: i });
      i += key[0].length;
      continue;
    }
    if (text.startsWith('**', i)) {
      tokens.push({ kind: 'op', op: '**', column: i });
      i += 2;
      continue;
    }
    if ('+-*/()'.includes(ch)) {
      tokens.push({ kind: 'op', op: ch, column: i });
      i++;
      continue;
    }
    throw new ExpressionError(`unexpected character '${ch}' (expressions allow numbers, + - * / **, parentheses and dotted keys)`, i);
  }
  tokens.push({ kind: 'end', column: text.length });
  return tokens;
}

/** Nesting (parentheses, unary signs, exponents) deeper than this is refused, not a stack overflow. */
export const MAX_EXPRESSION_DEPTH = 64;

/** Parses an expression (without the leading '='); throws ExpressionError with the column. */
export function parseExpression(text: string): Expression {
  if (text.length > 1000) throw new ExpressionError('the expression is longer than 1000 characters', 1000);
  const tokens = tokenize(text);
  let depth = 0;
  const nest = <T>(column: number, parse: () => T): T => {
    if (++depth > MAX_EXPRESSION_DEPTH)
      throw new ExpressionError(`the expression nests deeper than ${MAX_EXPRESSION_DEPTH} levels`, column);
    try {
      return parse();
    } finally {
      depth--;
    }
  };
  let position = 0;
  const peek = (): Token => tokens[position];
  const isOp = (op: string): boolean => {
    const token = peek();
    return token.kind === 'op' && token.op === op;
  };
  const describe = (token: Token): string =>
    token.kind === 'end'
      ? 'the end of the expression'
      : token.kind === 'op'
        ? `'${token.op}'`
        : token.kind === 'key'
          ? `'${token.key}'`
          : `'${token.value}'`;

  function additive(): Expression {
    let left = multiplicative();
    while (isOp('+') || isOp('-')) {
      const token = tokens[position++] as { op: '+' | '-'; column: number };
      left = { kind: 'binary', op: token.op, left, right: multiplicative(), column: token.column };
    }
    return left;
  }
  function multiplicative(): Expression {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const token = tokens[position++] as { op: '*' | '/'; column: number };
      left = { kind: 'binary', op: token.op, left, right: unary(), column: token.column };
    }
    return left;
  }
  function unary(): Expression {
    if (isOp('-') || isOp('+')) {
      const token = tokens[position++] as { op: '-' | '+'; column: number };
      return { kind: 'unary', op: token.op, operand: nest(token.column, unary), column: token.column };
    }
    return power();
  }
  function power(): Expression {
    const base = primary();
    if (isOp('**')) {
      const token = tokens[position++];
      return { kind: 'binary', op: '**', left: base, right: nest(token.column, unary), column: token.column };
    }
    return base;
  }
  function primary(): Expression {
    const token = peek();
    if (token.kind === 'number') {
      position++;
      return { kind: 'number', value: token.value, column: token.column };
    }
    if (token.kind === 'key') {
      position++;
      return { kind: 'key', key: token.key, column: token.column };
    }
    if (isOp('(')) {
      position++;
      const inner = nest(token.column, additive);
      if (!isOp(')'))
        throw new ExpressionError(
          `expected ')' to close the '(' at column ${token.column + 1} but found ${describe(peek())}`,
          peek().column,
        );
      position++;
      return inner;
    }
    throw new ExpressionError(`expected a number, a key or '(' but found ${describe(token)}`, token.column);
  }

  const expression = additive();
  if (peek().kind !== 'end') throw new ExpressionError(`unexpected ${describe(peek())} after a complete expression`, peek().column);
  return expression;
}

/** Dotted keys an expression refers to, in order of appearance. */
export function referencedKeys(expression: Expression): string[] {
  switch (expression.kind) {
    case 'number':
      return [];
    case 'key':
      return [expression.key];
    case 'unary':
      return referencedKeys(expression.operand);
    case 'binary':
      return [...referencedKeys(expression.left), ...referencedKeys(expression.right)];
  }
}

/** Evaluates; `lookup` returns a key's number or throws/returns undefined for an unusable key. */
export function evaluateExpression(expression: Expression, lookup: (key: string) => number | undefined): number {
  switch (expression.kind) {
    case 'number':
      return expression.value;
    case 'key': {
      const value = lookup(expression.key);
      if (value === undefined) throw new ExpressionError(`'${expression.key}' is not a numeric config key`, expression.column);
      return value;
    }
    case 'unary': {
      const operand = evaluateExpression(expression.operand, lookup);
      return expression.op === '-' ? -operand : operand;
    }
    case 'binary': {
      const left = evaluateExpression(expression.left, lookup);
      const right = evaluateExpression(expression.right, lookup);
      let result: number;
      if (expression.op === '+') result = left + right;
      else if (expression.op === '-') result = left - right;
      else if (expression.op === '*') result = left * right;
      else if (expression.op === '/') {
        if (right === 0) throw new ExpressionError('division by zero', expression.column);
        result = left / right;
      } else result = left ** right;
      if (!Number.isFinite(result)) throw new ExpressionError(`'${expression.op}' gives a non-finite result`, expression.column);
      return result;
    }
  }
}
