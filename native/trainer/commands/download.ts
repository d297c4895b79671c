// `lora-lab download REPO[@REV] [--include GLOB ...] [--cache-dir DIR] [--json]`: a Hub model (or only
// some of its files) into the Hugging Face cache, with a progress bar on stderr; prints the snapshot
// folder, which model.checkpoint can name by the repo id. The downloader is language-server/src/lib/hub.
import { resolve } from 'node:path';
import { downloadModel, HubError, hubSettings, type DownloadProgress } from '../../../language-server/src/lib/hub';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

const USAGE = 'lora-lab download REPO[@REV] [--include GLOB ...] [--cache-dir DIR] [--json]';

interface DownloadArgs {
  repo: string;
  include?: string[];
  cacheDir?: string;
  json: boolean;
}

function parseArgs(args: string[]): DownloadArgs | string {
  const include: string[] = [];
  let repo: string | undefined;
  let cacheDir: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--include' || arg === '--cache-dir') {
      const value = args[++i];
      if (value === undefined || value.startsWith('--')) return `${arg} needs a value`;
      if (arg === '--include') include.push(...value.split(',').filter(Boolean));
      else cacheDir = resolve(value);
    } else if (arg.startsWith('--')) return `unknown option ${arg}`;
    else if (repo === undefined) repo = arg;
    else return `unexpected argument '${arg}'`;
  }
  if (!repo) return 'expected a repo id (org/name or org/name@revision)';
  return { repo, include: include.length ? include : undefined, cacheDir, json };
}

/** One progress line: bar, bytes, rate, ETA and the file being fetched. */
export function progressLine(p: DownloadProgress, width = 24): string {
  const share = p.totalBytes > 0 ? Math.min(1, p.doneBytes / p.totalBytes) : 1;
  const filled = Math.round(share * width);
  const eta = p.etaSeconds === null ? '--' : formatDuration(p.etaSeconds);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)}  ${formatBytes(p.bytesPerSecond)}/s  ETA ${eta}  ${p.file}`;
}

export const downloadCommand: CliCommand = {
  name: 'download',
  summary: 'Download a Hugging Face Hub model into the shared HF cache (config, tokenizer, safetensors)',
  usage: USAGE,
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    const parsed = parseArgs(args);
    if (typeof parsed === 'string') {
      out.stderr(`lora-lab download: ${parsed}\nUsage: ${USAGE}\n`);
      return EXIT_USAGE;
    }
    const settings = hubSettings();
    if (parsed.cacheDir) settings.cacheDir = parsed.cacheDir;
    const tty = Boolean(process.stderr.isTTY);
    let lastDraw = 0;
    let lastFile = '';
    const onProgress = (p: DownloadProgress) => {
      const now = Date.now();
      if (tty) {
        if (now - lastDraw < 100 && p.doneBytes < p.totalBytes) return;
        lastDraw = now;
        out.stderr(
          `\r${progressLine(p)
            .slice(0, (process.stderr.columns || 120) - 1)
            .padEnd(Math.min(process.stderr.columns || 120, 120) - 1)}`,
        );
      } else if (p.file !== lastFile || now - lastDraw >= 5000) {
        lastFile = p.file;
        lastDraw = now;
        out.stderr(`${progressLine(p)}\n`);
      }
    };
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    try {
      const result = await downloadModel({
        repo: parsed.repo,
        include: parsed.include,
        settings,
        signal: controller.signal,
        onProgress: parsed.json ? undefined : onProgress,
      });
      if (tty && !parsed.json) out.stderr('\n');
      if (parsed.json) {
        out.stdout(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        for (const skipped of result.skipped) out.stderr(`skipped ${skipped}\n`);
        const fetched = result.files.filter((f) => !f.fromCache).length;
        out.stderr(
          `${result.repo}@${result.revision} (commit ${result.commit}): ${result.files.length} files, ${fetched} downloaded (${formatBytes(result.downloadedBytes)}), ${result.files.length - fetched} already cached\n`,
        );
        out.stdout(`${result.snapshot}\n`);
      }
      return EXIT_OK;
    } catch (error) {
      if (tty) out.stderr('\n');
      if (error instanceof HubError) {
        out.stderr(`lora-lab download: ${error.message}\n`);
        return EXIT_FAILURE;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
