// "LoRA Lab: Download Model": a catalog quick pick (gated repos marked, families the engine cannot
// load shown with the reason and refused) or a typed repo id, then the Hub download into the shared
// Hugging Face cache with a progress notification (bytes, rate, ETA, cancel). The quick fixes "Fetch
// config.json" and "Download model" run it with a request. Trusted workspaces only.
import * as vscode from 'vscode';
import { hubRefText, parseHubRef } from '../../../language-server/src/config/hub-ref';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import {
  downloadModel as download,
  HubError,
  MODEL_CATALOG,
  type CatalogModel,
  type DownloadProgress,
} from '../../../language-server/src/lib/hub';
import { MODELS_CHANGED_NOTIFICATION, type DownloadModelRequest } from '../../../language-server/src/service/hub-commands';
import type { Cmd, Ctx } from '../context';

export const ENTER_REPO_ID = 'Enter a repo id…';

export interface CatalogItem extends vscode.QuickPickItem {
  model?: CatalogModel;
}

/** The quick pick's items: typing a repo id first, then the catalog; gated and unloadable models marked. */
export function catalogItems(): CatalogItem[] {
  return [
    { label: `$(edit) ${ENTER_REPO_ID}`, description: 'org/name or org/name@revision from huggingface.co' },
    ...MODEL_CATALOG.map((model): CatalogItem => ({
      label: `${model.unsupported ? '$(circle-slash)' : model.gated ? '$(lock)' : '$(cloud-download)'} ${model.repo}`,
      description: `${model.size} · ${model.architecture}${model.gated ? ' · gated: accept the license on the model page, set HF_TOKEN' : ''}`,
      detail: model.unsupported ? `Not available: ${model.unsupported}` : model.note,
      model,
    })),
  ];
}

/** One progress message: bytes, rate, ETA, the file. */
export function progressMessage(p: DownloadProgress): string {
  const eta = p.etaSeconds === null ? '' : `, ${formatDuration(p.etaSeconds)} left`;
  return `${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)} at ${formatBytes(p.bytesPerSecond)}/s${eta} (${p.file})`;
}

async function pickRequest(): Promise<DownloadModelRequest | undefined> {
  const picked = await vscode.window.showQuickPick(catalogItems(), {
    title: 'LoRA Lab: Download Model',
    placeHolder: 'A base model to download into the Hugging Face cache',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked.model?.unsupported) {
    void vscode.window.showWarningMessage(`LoRA Lab: ${picked.model.repo} cannot be trained yet: ${picked.model.unsupported}.`);
    return undefined;
  }
  const typed = picked.model
    ? picked.model.repo
    : await vscode.window.showInputBox({
        title: 'LoRA Lab: Download Model',
        prompt: 'A Hugging Face Hub repo id, optionally with a revision',
        placeHolder: 'meta-llama/Llama-2-7b-hf or Qwen/Qwen2.5-0.5B@main',
        validateInput: (value) => (parseHubRef(value) ? undefined : 'Expected org/name or org/name@revision'),
      });
  const ref = typed ? parseHubRef(typed) : null;
  return ref ? { repo: ref.repo, revision: ref.revision } : undefined;
}

export function downloadModel(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        "LoRA Lab: Downloading models is disabled in an untrusted workspace, because it fetches files named by this workspace's configs into your Hugging Face cache. Trust the workspace (Workspaces: Manage Workspace Trust) to enable it, or run lora-lab download in a terminal.",
      );
      return undefined;
    }
    const request = isRequest(arg) ? arg : await pickRequest();
    if (!request) return undefined;
    const id = hubRefText(request);
    const what = request.include ? `${request.include.join(', ')} of ${id}` : id;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `LoRA Lab: downloading ${what}`, cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let reported = 0;
          return download({
            repo: id,
            include: request.include,
            signal: controller.signal,
            onProgress: (p) => {
              const percent = p.totalBytes > 0 ? (100 * p.doneBytes) / p.totalBytes : 100;
              progress.report({ message: progressMessage(p), increment: Math.max(0, percent - reported) });
              reported = Math.max(reported, percent);
            },
          });
        },
      );
      ctx.notifyServer?.(MODELS_CHANGED_NOTIFICATION);
      const fetched = result.files.filter((f) => !f.fromCache).length;
      ctx.log.info(
        `downloaded ${what}: commit ${result.commit}, ${result.files.length} files (${fetched} fetched, ${formatBytes(result.downloadedBytes)}) in ${result.snapshot}`,
      );
      void vscode.window.showInformationMessage(
        `LoRA Lab: ${what} is in the Hugging Face cache (${fetched} of ${result.files.length} files fetched, ${formatBytes(result.downloadedBytes)}). Use model.checkpoint: ${id}`,
      );
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log.warn(`download of ${what} failed: ${message}`);
      if (error instanceof HubError && error.code === 'Cancelled')
        void vscode.window.showInformationMessage(
          `LoRA Lab: the download of ${what} was cancelled; it resumes where it stopped next time.`,
        );
      else void vscode.window.showErrorMessage(`LoRA Lab: downloading ${what} failed: ${message}`);
      return undefined;
    }
  };
}

function isRequest(value: unknown): value is DownloadModelRequest {
  const v = value as DownloadModelRequest | undefined;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.repo === 'string' &&
    typeof v.revision === 'string' &&
    (v.include === undefined || (Array.isArray(v.include) && v.include.every((g) => typeof g === 'string')))
  );
}
