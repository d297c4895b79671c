// What a reader sees of a Markdown text: rendered by markdown-it (CommonMark with inline HTML, as
// VS Code's hover renderer reads it; installed with @vscode/vsce), tags dropped, entities decoded.
import { createRequire } from 'node:module';

interface MarkdownRenderer {
  render(text: string): string;
}
const require = createRequire(import.meta.url);
const markdownIt = require('markdown-it') as (options: { html: boolean }) => MarkdownRenderer;
const renderer = markdownIt({ html: true });

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

/** The visible text of `markdown`: an unknown tag such as `<run name>` vanishes, as it does in a hover. */
export function visibleText(markdown: string): string {
  return renderer
    .render(markdown)
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ENTITIES[name])
    .trim();
}
