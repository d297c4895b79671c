// config device 'auto' resolves from the addon's device report (a fake one here): 'cuda' only with a
// usable CUDA device and a config the CUDA engine runs (bf16 precision).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../language-server/src/config/parse';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { DeviceReport } from '../../../native/trainer/addon';
import { cudaRefusal, engineOptions, resolveDevice } from '../../../native/trainer/run/engine-options';

function config(yaml: string, model = ''): LoraLabConfig {
  return parseConfig(`model:\n  checkpoint: ./ckpt\n${model}data:\n  train: ./train.json\n${yaml}`, '/tmp/x.lora.yaml').config;
}

function report(cuda: Partial<DeviceReport['cuda']>): DeviceReport {
  const simd = { sse42: true, avx: true, avx2: true, fma: true, f16c: true, avx512f: false, avx512bw: false, avx512vl: false, avx512dq: false, avx512bf16: false };
  return {
    engineVersion: 'test',
    simdPath: 'avx2',
    cpu: { model: 'fake', logicalCores: 4, totalMemoryBytes: 8e9, availableMemoryBytes: 4e9, simd },
    cuda: { builtWithCuda: true, driverVersion: 12040, runtimeVersion: 12040, devices: [], ...cuda },
  };
}

const gpu = { index: 0, name: 'NVIDIA H200', totalMemoryBytes: 141e9, freeMemoryBytes: 140e9, computeCapability: '9.0', multiprocessors: 132 };

test("device 'auto' is 'cuda' with a usable CUDA device, else 'cpu'", () => {
  const auto = config('device: auto\n');
  assert.equal(auto.device, 'auto');
  assert.equal(resolveDevice(auto, () => report({ devices: [gpu] })), 'cuda');
  assert.equal(resolveDevice(auto, () => report({ devices: [], unavailableReason: 'the NVIDIA driver reports no CUDA device' })), 'cpu');
  assert.equal(resolveDevice(auto, () => report({ builtWithCuda: false, devices: [], unavailableReason: 'built without CUDA' })), 'cpu');
  assert.equal(resolveDevice(auto, () => report({ devices: [gpu], unavailableReason: 'driver too old' })), 'cpu');
  assert.equal(resolveDevice(auto, () => { throw new Error('no addon'); }), 'cpu');
  assert.equal(engineOptions(auto, 10, true, () => report({ devices: [gpu] })).device, 'cuda');
  assert.equal(engineOptions(auto, 10).device, 'cpu', 'without a report auto stays cpu');
});

test("device 'auto' stays 'cpu' for configs the CUDA engine refuses", () => {
  const withGpu = () => report({ devices: [gpu] });
  const refused = [config('device: auto\n', '  precision: 32-true\n'), config('device: auto\n', '  precision: 16-true\n')];
  assert.deepEqual(refused.map((c) => c.model.precision), ['32-true', '16-true'], 'the fixtures parse as meant');
  for (const c of refused) {
    assert.notEqual(cudaRefusal(c), null);
    assert.equal(resolveDevice(c, withGpu), 'cpu');
  }
  assert.equal(cudaRefusal(config('device: auto\n')), null);
  const checkpointed = config('device: auto\ntrain:\n  gradient_checkpointing: true\n', '  precision: bf16-mixed\n');
  assert.equal(checkpointed.train.gradient_checkpointing, true);
  assert.equal(resolveDevice(checkpointed, withGpu), 'cuda', 'checkpointing and bf16-mixed run on CUDA');
  const full = config('device: auto\ntrain:\n  method: full\n');
  assert.equal(full.train.method, 'full');
  assert.equal(resolveDevice(full, withGpu), 'cuda', 'full finetuning runs on CUDA');
});

test('an explicit device passes through without reading the report', () => {
  const never = (): DeviceReport => { throw new Error('read'); };
  assert.equal(resolveDevice(config('device: cpu\n'), never), 'cpu');
  assert.equal(resolveDevice(config('device: cuda\n'), never), 'cuda');
  assert.equal(resolveDevice(config('device: cuda:1\n'), never), 'cuda:1');
});
