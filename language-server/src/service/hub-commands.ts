// The Hub side of the client <-> server protocol: the host command the quick fixes run to fetch a
// Hub model (the language server itself never touches the network), its argument, and the
// notification the host sends after a download so the server re-reads the cache.

/** Host command: download a Hub model (or only some files) into the Hugging Face cache. */
export const DOWNLOAD_MODEL_COMMAND = 'loraLab.downloadModel';

/** The argument of DOWNLOAD_MODEL_COMMAND when a quick fix runs it (none: the catalog quick pick). */
export interface DownloadModelRequest {
  repo: string;
  revision: string;
  /** Only these files (globs); absent: what training needs. */
  include?: string[];
}

/** Host -> server notification (no params): files in the Hugging Face cache changed; re-check open configs. */
export const MODELS_CHANGED_NOTIFICATION = 'loraLab/modelsChanged';
