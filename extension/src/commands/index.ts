// Every command of the extension host in one table (rust-analyzer's pattern): id -> (ctx) => Cmd.
// A unit test checks this table against the manifest's contributes.commands.
import type { Cmd, Ctx } from '../context';
import { chatWithModel } from './chat-with-model';
import { createExampleConfig } from './create-example-config';
import { deleteRun } from './delete-run';
import { inspectDataset } from './inspect-dataset';
import { downloadModel } from './download-model';
import { evaluateRun } from './evaluate-run';
import { mergeAdapter } from './merge-adapter';
import { openDashboard } from './open-dashboard';
import { resumeRun } from './resume-run';
import { revealRunFolder } from './reveal-run-folder';
import { showLogs } from './show-logs';
import { showTradeoffs } from './show-tradeoffs';
import { startRun } from './start-run';
import { stopRun } from './stop-run';
import { compareRuns } from './compare-runs';
import { addCliToPath } from './add-cli-to-path';
import { calibrate } from './calibrate';
import { doctor } from './doctor';
import { listRuns } from './list-runs';
import { renameRun } from './rename-run';
import { stopSweep } from './stop-sweep';
import { stopVariant } from './stop-variant';

export const COMMAND_TABLE: Record<string, (ctx: Ctx) => Cmd> = {
  'loraLab.startRun': startRun,
  'loraLab.stopRun': stopRun,
  'loraLab.resumeRun': resumeRun,
  'loraLab.openDashboard': openDashboard,
  'loraLab.revealRunFolder': revealRunFolder,
  'loraLab.mergeAdapter': mergeAdapter,
  'loraLab.deleteRun': deleteRun,
  'loraLab.showLogs': showLogs,
  'loraLab.createExampleConfig': createExampleConfig,
  'loraLab.showTradeoffs': showTradeoffs,
  'loraLab.inspectDataset': inspectDataset,
  'loraLab.downloadModel': downloadModel,
  'loraLab.chatWithModel': chatWithModel,
  'loraLab.compareRuns': compareRuns,
  'loraLab.evaluateRun': evaluateRun,
  'loraLab.stopVariant': stopVariant,
  'loraLab.stopSweep': stopSweep,
  'loraLab.renameRun': renameRun,
  'loraLab.calibrate': calibrate,
  'loraLab.doctor': doctor,
  'loraLab.listRuns': listRuns,
  'loraLab.addCliToPath': addCliToPath,
};
