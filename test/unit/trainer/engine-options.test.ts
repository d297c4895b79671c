// config device 'auto' resolves from the addon's device report (a fake one here): 'cuda' only with a
// usable CUDA device and a config the CUDA engine runs (bf16 precision). The schema's defaults reach
// the engine (lora.dropout 0.05), and configWith() checks the values it is given.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '../../../language-server/src/config/parse';
import { keySpec } from '../../../language-server/src/config/schema';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { loadAddon, type DeviceReport } from '../../../native/trainer/addon';
import { configWith, cudaRefusal, engineOptions, resolveDevice } from '../../../native/trainer/run/engine-options';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

function config(yaml: string, model = ''): LoraLabConfig {
  return parseConfig(`model:\n  checkpoint: ./ckpt\n${model}data:\n  train: ./train.json\n${yaml}`, '/tmp/x.lora.yaml').config;
}

function report(cuda: Partial<DeviceReport['cuda']>): DeviceReport {
  const simd = {
    sse42: true,
    avx: true,
    avx2: true,
    fma: true,
    f16c: true,
    avx512f: false,
    avx512bw: false,
    avx512vl: false,
    avx512dq: false,
    avx512bf16: false,
  };
  return {
    engineVersion: 'test',
    simdPath: 'avx2',
    cpu: { model: 'fake', logicalCores: 4, totalMemoryBytes: 8e9, availableMemoryBytes: 4e9, simd },
    cuda: { builtWithCuda: true, driverVersion: 12040, runtimeVersion: 12040, devices: [], ...cuda },
  };
}

const gpu = {
  index: 0,
  name: 'NVIDIA H200',
  totalMemoryBytes: 141e9,
  freeMemoryBytes: 140e9,
  computeCapability: '9.0',
  multiprocessors: 132,
};

test("device 'auto' is 'cuda' with a usable CUDA device, else 'cpu'", () => {
  const auto = config('device: auto\n');
  assert.equal(auto.device, 'auto');
  assert.equal(
    resolveDevice(auto, () => report({ devices: [gpu] })),
    'cuda',
  );
  assert.equal(
    resolveDevice(auto, () => report({ devices: [], unavailableReason: 'the NVIDIA driver reports no CUDA device' })),
    'cpu',
  );
  assert.equal(
    resolveDevice(auto, () => report({ builtWithCuda: false, devices: [], unavailableReason: 'built without CUDA' })),
    'cpu',
  );
  assert.equal(
    resolveDevice(auto, () => report({ devices: [gpu], unavailableReason: 'driver too old' })),
    'cpu',
  );
  assert.equal(
    resolveDevice(auto, () => {
      throw new Error('no addon');
    }),
    'cpu',
  );
  assert.equal(engineOptions(auto, 10, true, () => report({ devices: [gpu] })).device, 'cuda');
  assert.equal(engineOptions(auto, 10).device, 'cpu', 'without a report auto stays cpu');
});

test("device 'auto' stays 'cpu' for configs the CUDA engine refuses", () => {
  const withGpu = () => report({ devices: [gpu] });
  const refused = [config('device: auto\n', '  precision: 32-true\n'), config('device: auto\n', '  precision: 16-true\n')];
  assert.deepEqual(
    refused.map((c) => c.model.precision),
    ['32-true', '16-true'],
    'the fixtures parse as meant',
  );
  for (const c of refused) {
    assert.notEqual(cudaRefusal(c), null);
    assert.equal(resolveDevice(c, withGpu), 'cpu');
  }
  assert.equal(cudaRefusal(config('device: auto\n')), null);
  // the optimizer states the CUDA engine does not implement yet run on the CPU
  for (const text of ['device: auto\ntrain:\n  optimizer: adamw8bit\n', 'device: auto\ntrain:\n  state_precision: bf16\n']) {
    const c = config(text);
    assert.match(cudaRefusal(c) ?? '', /not implemented on CUDA yet/);
    assert.equal(resolveDevice(c, withGpu), 'cpu');
  }
  const checkpointed = config('device: auto\ntrain:\n  gradient_checkpointing: true\n', '  precision: bf16-mixed\n');
  assert.equal(checkpointed.train.gradient_checkpointing, true);
  assert.equal(resolveDevice(checkpointed, withGpu), 'cuda', 'checkpointing and bf16-mixed run on CUDA');
  const full = config('device: auto\ntrain:\n  method: full\n');
  assert.equal(full.train.method, 'full');
  assert.equal(resolveDevice(full, withGpu), 'cuda', 'full finetuning runs on CUDA');
});

test("device 'auto' stays 'cpu' for a Phi or Falcon checkpoint (their CUDA path is not yet verified on a GPU)", () => {
  const withGpu = () => report({ devices: [gpu] });
  for (const [fixture, architecture] of [
    ['phi_f32', 'PhiForCausalLM'],
    ['falcon_mq_f32', 'FalconForCausalLM'],
  ]) {
    const c = parseConfig(
      `model:\n  checkpoint: ${join(__dirname, '../../reference/fixtures', fixture)}\ndata:\n  train: ./train.json\ndevice: auto\n`,
      '/tmp/x.lora.yaml',
    ).config;
    assert.match(cudaRefusal(c) ?? '', new RegExp(`${architecture} on CUDA is not yet verified on a GPU`));
    assert.equal(resolveDevice(c, withGpu), 'cpu');
  }
  const llama = parseConfig(
    `model:\n  checkpoint: ${join(__dirname, '../../reference/fixtures/llama_gqa_llama3_f32')}\ndata:\n  train: ./train.json\ndevice: auto\n`,
    '/tmp/x.lora.yaml',
  ).config;
  assert.equal(resolveDevice(llama, withGpu), 'cuda');
});

test('an explicit device passes through without reading the report', () => {
  const never = (): DeviceReport => {
    throw new Error('read');
  };
  assert.equal(resolveDevice(config('device: cpu\n'), never), 'cpu');
  assert.equal(resolveDevice(config('device: cuda\n'), never), 'cuda');
  assert.equal(resolveDevice(config('device: cuda:1\n'), never), 'cuda:1');
});

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-engine-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the lora.dropout default (0.05, from the schema) reaches the engine', async () => {
  const fromFile = config('device: cpu\n', '  precision: 32-true\n'); // no lora.dropout
  assert.equal(keySpec('lora.dropout')?.default, 0.05);
  const options = engineOptions(fromFile, 10, true, undefined, 1);
  assert.equal(options.loraDropout, 0.05);
  assert.deepEqual(
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true' }), 10, true, undefined, 1),
    options,
    'configWith() starts from the same defaults',
  );
  const checkpoint = makeTinyCheckpoint(join(dir, 'tiny'), {
    vocabSize: 64,
    hiddenSize: 16,
    intermediateSize: 32,
    numLayers: 2,
    numHeads: 2,
    numKvHeads: 1,
  });
  const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 7 + 1) % 64);
  const targets = Int32Array.from({ length: 16 }, (_, i) => (i * 11 + 1) % 64);
  const gradNorm = async (dropout: number): Promise<number> => {
    const engine = await loadAddon().loadEngine(checkpoint, { ...options, loraDropout: dropout });
    try {
      if (dropout === options.loraDropout) {
        // the engine holds the value: its adapter config says so (stored as a float: 0.05 to ~1e-9)
        await engine.saveAdapter(join(dir, 'adapter'), 'tiny');
        const saved = JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8')) as { lora_dropout: number };
        assert.ok(Math.abs(saved.lora_dropout - 0.05) < 1e-7, `adapter_config.json lora_dropout ${saved.lora_dropout}`);
      }
      return (await engine.step([{ rows: 2, seqLen: 8, tokens, targets }])).gradNorm;
    } finally {
      engine.dispose();
    }
  };
  const withDefault = await gradNorm(options.loraDropout);
  const without = await gradNorm(0);
  assert.notEqual(withDefault, without, 'the training step drops adapter inputs with the default dropout');
});

test('configWith() checks each value against the schema and names the key', () => {
  assert.equal(configWith({ 'lora.r': 16 }).lora.r, 16);
  assert.throws(() => configWith({ 'lora.dropout': 1.5 }), /'lora\.dropout' is 1\.5, out of range/);
  assert.throws(() => configWith({ 'lora.rank': 4 }), /'lora\.rank' is not a config key/);
});
