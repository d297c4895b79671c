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

/** Every export of loralab.node. */
export interface NativeAddon {
  deviceReport(): DeviceReport;
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
