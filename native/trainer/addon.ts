// Typed wrapper that loads the native addon (dist/native/loralab.node next to the bundle) and
// describes every export. Only the trainer/CLI process loads it; the extension host never does.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

export interface SimdFeatures {
  sse42: boolean;
  avx: boolean;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512dq: boolean;
  avx512bf16: boolean;
}

export interface CudaDeviceReport {
  index: number;
  name: string;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  computeCapability: string;
  multiprocessors: number;
}

export interface DeviceReport {
  engineVersion: string;
  /** The CPU kernel path the engine picks at run time: 'avx512' | 'avx2' | 'scalar'. */
  simdPath: string;
  cpu: { model: string; logicalCores: number; totalMemoryBytes: number; availableMemoryBytes: number; simd: SimdFeatures };
  cuda: {
    builtWithCuda: boolean;
    driverVersion: number;
    runtimeVersion: number;
    devices: CudaDeviceReport[];
    /** Why no CUDA device can be used (absent when at least one can). */
    unavailableReason?: string;
  };
}

/**
 * Options of a loaded engine (native EngineOptions). Every field is required (a missing one is a
 * TypeError naming it): build them with engineOptions() (run/engine-options.ts) from a config, whose
 * schema holds the defaults.
 */
export interface EngineOptions {
  precision: 'bf16-true' | 'bf16-mixed' | '16-true' | '32-true';
  quantize: 'none' | 'bnb.nf4' | 'bnb.nf4-dq' | 'bnb.fp4' | 'bnb.fp4-dq';
  method: 'lora' | 'full';
  targets: { query: boolean; key: boolean; value: boolean; projection: boolean; mlp: boolean; head: boolean };
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  rslora: boolean;
  optimizer: 'adamw' | 'sgd' | 'adamw8bit' | 'sgd8bit';
  /** Storage of the trainable state: fp32, or bf16 LoRA masters, gradients and moments (CPU, LoRA). */
  statePrecision: 'fp32' | 'bf16';
  learningRate: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  momentum: number;
  lrSchedule: 'cosine' | 'constant' | 'linear';
  warmupSteps: number;
  totalSteps: number;
  minLr: number;
  /** <= 0 disables clipping. */
  gradClip: number;
  gradientCheckpointing: boolean;
  seed: number;
  /** 0 = every usable core. */
  threads: number;
  /** 'cpu' | 'cuda' | 'cuda:N' ('auto' and '' are the CPU here: engineOptions() resolves 'auto'). */
  device: string;
  /** false: inference only (no optimizer state). */
  training: boolean;
}

/** Right-padded rows; targets are already shifted (label of the next token), -100 = no loss. */
export interface EngineBatch {
  rows: number;
  seqLen: number;
  tokens: Int32Array; // (rows * seqLen)
  targets: Int32Array; // (rows * seqLen)
  lengths?: Int32Array; // (rows)
  exampleIds?: Int32Array; // (rows), keys the dropout RNG
}

export interface StepResult {
  loss: number;
  tokens: number;
  gradNorm: number;
  lr: number;
  step: number;
}

export type MemoryByCategory = Record<
  'weights' | 'quant_constants' | 'lora_params' | 'grads' | 'optimizer_state' | 'activations' | 'logits' | 'workspace' | 'kv_cache',
  number
>;

export interface MemoryReport {
  current: MemoryByCategory;
  peak: MemoryByCategory;
  currentTotal: number;
  peakTotal: number;
}

export interface ModelConfigInfo {
  architecture: string;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number;
  eosTokenIds: number[];
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  stopTokens?: number[];
}

/** Evaluation requests packed for Engine.score: each request's context ids then its continuation ids. */
export interface PackedScoreRequests {
  tokens: Int32Array;
  contextLengths: Int32Array;
  continuationLengths: Int32Array;
}

/** Per request, in request order: sum of the continuation's log-probs, whether it was greedy, tokens run. */
export interface ScoreOutput {
  sumLogprob: Float64Array;
  /** 1 when every continuation token is the argmax at its position. */
  isGreedy: Uint8Array;
  /** Tokens run through the model for the request (fewer than its input when a shared prefix was reused). */
  computed: Float64Array;
}

/** A loaded model; one call at a time (a concurrent call rejects with code E_BUSY). */
export interface NativeEngine {
  config(): ModelConfigInfo;
  paramCounts(): { total: number; trainable: number; trainableByTarget: Record<string, number> };
  computePath(): string;
  deviceName(): string;
  logprobs(batch: EngineBatch): Promise<Float32Array>;
  logits(batch: EngineBatch): Promise<Float32Array>;
  generate(prompt: Int32Array, options: GenerateOptions, onToken?: (id: number) => void): Promise<Int32Array>;
  /** Loglikelihood of each continuation given its context (evaluation); sharePrefix (default true) reuses shared prefixes. */
  score(
    requests: PackedScoreRequests,
    options: { sharePrefix?: boolean },
    onProgress?: (done: number, total: number) => void,
  ): Promise<ScoreOutput>;
  step(microBatches: EngineBatch[]): Promise<StepResult>;
  evalLoss(microBatches: EngineBatch[]): Promise<number>;
  saveAdapter(dir: string, baseModelNameOrPath: string): Promise<void>;
  loadAdapter(dir: string): Promise<void>;
  /** LoRA mode: false switches the adapter's contribution off (base model outputs over the same weights), true back on; refused (E_BUSY) while a call is in flight. */
  setAdapterEnabled(enabled: boolean): void;
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
  stepsDone(): number;
  memory(): MemoryReport;
  /** Makes the call in flight reject with code E_ABORTED at its next safe point. */
  abort(): void;
  /** Frees the model; safe to call twice; refused (E_BUSY) while a call is in flight. */
  dispose(): void;
}

/** Every export of loralab.node. */
export interface NativeAddon {
  deviceReport(): DeviceReport;
  loadEngine(folder: string, options: EngineOptions): Promise<NativeEngine>;
  mergeAdapter(checkpointDir: string, adapterDir: string, outDir: string, maxShardBytes?: number): Promise<void>;
}

/** A native error: `code` is stable (E_...), `where` is the C++ file:line. */
export interface NativeError extends Error {
  code: string;
  where?: string;
}

/** Where the addon may be: beside the bundle, or in the build tree when running from sources. */
export function addonCandidates(): string[] {
  const fromEnv = process.env.LORALAB_ADDON ? [resolve(process.env.LORALAB_ADDON)] : [];
  const repoRoot = resolve(__dirname, '..', '..');
  return [
    ...fromEnv,
    join(__dirname, 'native', 'loralab.node'),
    join(repoRoot, 'dist', 'native', 'loralab.node'),
    join(repoRoot, 'build', 'native', 'Release', 'loralab.node'),
  ];
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    const err = new Error(
      `The LoRA Lab native engine (loralab.node) was not found. Looked in:\n  ${candidates.join('\n  ')}\n` +
        'Build it with `npm run build:native` (needs cmake and a C++17 compiler).',
    ) as Error & { code: string };
    err.code = 'E_ADDON_MISSING';
    throw err;
  }
  // createRequire with a computed path: esbuild leaves the .node file out of the bundle.
  cached = createRequire(__filename)(found) as NativeAddon;
  return cached;
}
