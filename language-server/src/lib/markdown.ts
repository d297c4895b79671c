// Plain text inside Markdown (hovers, completion documentation): every character Markdown could
// read as markup is backslash-escaped, so '<out_dir>/<run name>/' shows as written, not as a tag.

/**
 * What CommonMark and GitHub Markdown (VS Code's renderer) can read as markup inside a line: emphasis,
 * code, links, HTML and entities, tables, strikethrough. Line-start markers (#, -, 1.) cannot occur:
 * the texts escaped here are put after other text on their line.
 */
const MARKUP = /[\\`*_{}[\]<>|~&]/g;

/** `text` escaped so a Markdown renderer shows exactly these characters. */
export function escapeMarkdown(text: string): string {
  return text.replace(MARKUP, (character) => `\\${character}`);
}

/** `text` as an inline code span, with a fence longer than any run of backticks inside it. */
export function markdownCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
