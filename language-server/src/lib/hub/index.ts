// The Hugging Face Hub client of LoRA Lab (used by `lora-lab download` and the host's Download Model
// command; never by the language server, which only reads the cache through config/hub-ref.ts).
export {
  downloadModel,
  listRepo,
  selectFiles,
  globMatches,
  TRAINING_FILES,
  type DownloadProgress,
  type DownloadRequest,
  type DownloadResult,
  type HubFile,
  type RepoListing,
} from './download';
export { HubError, hubSettings, hubErrorOf, proxyFor, type HubErrorCode, type HubSettings } from './hub-http';
export { MODEL_CATALOG, type CatalogModel } from './catalog';
