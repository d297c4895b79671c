// Where trainer events go: to the parent over IPC (while connected), as JSON lines on stdout
// (--json), and as a progress line on a TTY; step events are coalesced to <= 10 per second.
// Every event is also a line in <run>/train.log.
import { appendFileSync } from 'node:fs';
import type { TrainerEvent } from '../protocol';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';

export interface EventSinkOptions {
  json: boolean;
  ipc: boolean;
  tty: boolean;
  write: (text: string) => void;
}

const MIN_STEP_INTERVAL_MS = 100;

export class EventSink {
  private logPath: string | null = null;
  private lastStepSentMs = 0;
  private pendingStep: Extract<TrainerEvent, { type: 'step' }> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: EventSinkOptions) {}

  setLogFile(path: string): void {
    this.logPath = path;
  }

  log(runDir: string, level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.emit({ type: 'log', runDir, level, message });
  }

  emit(event: TrainerEvent): void {
    this.appendLog(event);
    if (event.type === 'step') {
      const now = Date.now();
      if (now - this.lastStepSentMs < MIN_STEP_INTERVAL_MS) {
        this.pendingStep = event;
        if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flushStep(), MIN_STEP_INTERVAL_MS);
        return;
      }
      this.lastStepSentMs = now;
      this.pendingStep = null;
    } else {
      this.flushStep();
    }
    this.deliver(event);
  }

  /** Sends a coalesced step event that is still waiting, if any. */
  flushStep(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const pending = this.pendingStep;
    this.pendingStep = null;
    if (pending) {
      this.lastStepSentMs = Date.now();
      this.deliver(pending);
    }
  }

  private deliver(event: TrainerEvent): void {
    if (this.options.ipc && process.send && process.connected) {
      try {
        // With a callback a failed send is reported there instead of as an 'error' event that
        // would end the process: a parent that went away must not stop training.
        process.send(event, undefined, {}, () => {});
      } catch {
        // the channel closed between the check and the send
      }
    }
    if (this.options.json) this.options.write(JSON.stringify(event) + '\n');
    else if (this.options.tty) this.options.write(progressText(event));
    else if (event.type !== 'step') this.options.write(plainText(event));
  }

  private appendLog(event: TrainerEvent): void {
    if (!this.logPath) return;
    const time = new Date().toISOString();
    const text = event.type === 'log' ? `${event.level}: ${event.message}` : JSON.stringify(event);
    try {
      appendFileSync(this.logPath, `${time} ${text}\n`);
    } catch {
      // logging must never stop training
    }
  }
}

function plainText(event: TrainerEvent): string {
  switch (event.type) {
    case 'started':
      return `run ${event.name}: ${event.totalSteps} steps -> ${event.runDir}\n`;
    case 'val':
      return `step ${event.line.step}: val loss ${event.line.loss.toFixed(4)}\n`;
    case 'checkpoint':
      return `checkpoint at step ${event.step}: ${event.path}\n`;
    case 'log':
      return event.level === 'debug' ? '' : `${event.level}: ${event.message}\n`;
    case 'stopping':
      return `stopping: finishing the current step and saving a checkpoint (about ${Math.ceil(event.expectedS)} s)\n`;
    case 'stopped':
      return `stopped at step ${event.step}; resume with --resume ${event.runDir}\n`;
    case 'done':
      return (
        `completed: ${event.summary.tokens} tokens in ${formatDuration(event.summary.trainTimeS)} ` +
        `(${event.summary.tokensPerS.toFixed(0)} tokens/s), final train loss ${event.summary.finalTrainLoss?.toFixed(4) ?? '-'}, ` +
        `val loss ${event.summary.finalValLoss?.toFixed(4) ?? '-'}, peak ${formatBytes(event.summary.peakBytes)}\n`
      );
    case 'failed':
      return `failed: ${event.error.code}: ${event.error.message}${event.error.hint ? `\nhint: ${event.error.hint}` : ''}\n`;
    default:
      return '';
  }
}

function progressText(event: TrainerEvent): string {
  if (event.type !== 'step') return `\r\x1b[K${plainText(event)}`;
  const { line, totalSteps, etaS } = event;
  const width = 24;
  const filled = Math.round((line.step / Math.max(1, totalSteps)) * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  return `\r\x1b[K[${bar}] ${line.step}/${totalSteps} loss ${line.loss.toFixed(4)} lr ${line.lr.toExponential(2)} ${line.tokens_per_s.toFixed(0)} tok/s ETA ${formatDuration(etaS)}`;
}
