// RFC 4180 CSV reading for datasets: quoted fields with "" escapes and embedded newlines, CRLF or
// LF line ends, a UTF-8 BOM. Every row knows the line it starts on, so errors can name it.

export interface CsvRow {
  fields: string[];
  /** 1-based line where the row starts. */
  line: number;
}

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/** Splits CSV text into rows; empty lines are skipped. Throws CsvSyntaxError with line and column. */
export function parseCsv(text: string): CsvRow[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < source.length) {
    const rowLine = line;
    const fields: string[] = [];
    if (source[i] === '\n' || (source[i] === '\r' && source[i + 1] === '\n')) {
      i += source[i] === '\r' ? 2 : 1;
      line++;
      lineStart = i;
      continue;
    }
    for (;;) {
      let field = '';
      if (source[i] === '"') {
        const quoteLine = line;
        const quoteColumn = i - lineStart + 1;
        i++;
        for (;;) {
          if (i >= source.length)
            throw new CsvSyntaxError(
              `unterminated quoted field (the quote opened at line ${quoteLine}, column ${quoteColumn} is never closed)`,
              quoteLine,
              quoteColumn,
            );
          const ch = source[i];
          if (ch === '"') {
            if (source[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') {
            line++;
            lineStart = i + 1;
          }
          field += ch;
          i++;
        }
        const next = source[i];
        if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && source[i + 1] === '\n')) {
          throw new CsvSyntaxError(
            `unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field is written "")`,
            line,
            i - lineStart + 1,
          );
        }
      } else {
        const start = i;
        while (i < source.length && source[i] !== ',' && source[i] !== '\n' && !(source[i] === '\r' && source[i + 1] === '\n')) {
          if (source[i] === '"')
            throw new CsvSyntaxError(
              'a quote inside an unquoted field (quote the whole field and write the quote as "")',
              line,
              i - lineStart + 1,
            );
          i++;
        }
        field = source.slice(start, i);
      }
      fields.push(field);
      if (source[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    rows.push({ fields, line: rowLine });
    if (i < source.length) {
      i += source[i] === '\r' ? 2 : 1;
      line++;
      lineStart = i;
    }
  }
  return rows;
}
