// The native addon loads in a plain child Node process (as the trainer does) and reports this
// machine: at least one core, memory, a SIMD path consistent with the detected features.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DeviceReport } from '../../../native/trainer/addon';

const root = join(__dirname, '../../..');

test('the addon loads in a child Node process and reports at least one CPU core', () => {
  const script = `const r = require(${JSON.stringify(join(root, 'dist/native/loralab.node'))}).deviceReport(); process.stdout.write(JSON.stringify(r));`;
  const report = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as DeviceReport;
  assert.ok(report.cpu.logicalCores >= 1);
  assert.ok(report.cpu.totalMemoryBytes > 0);
  assert.ok(['avx512', 'avx2', 'scalar'].includes(report.simdPath));
  if (report.simdPath === 'avx512') assert.ok(report.cpu.simd.avx512f && report.cpu.simd.fma);
  if (report.simdPath === 'avx2') assert.ok(report.cpu.simd.avx2 && report.cpu.simd.fma);
  if (report.cuda.devices.length === 0) assert.ok(report.cuda.unavailableReason, 'says why there is no CUDA device');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(report.engineVersion, version, 'the engine reports the version of package.json, its one home');
});

test('`lora-lab doctor` prints the real device report', () => {
  const text = execFileSync(process.execPath, [join(root, 'dist/cli.js'), 'doctor'], { encoding: 'utf8' });
  assert.match(text, /logical cores usable/);
  assert.match(text, /kernel path: (avx512|avx2|scalar)/);
  assert.match(text, /CUDA:/);
  const json = JSON.parse(execFileSync(process.execPath, [join(root, 'dist/cli.js'), 'doctor', '--json'], { encoding: 'utf8' }));
  assert.ok(json.cpu.logicalCores >= 1);
});

test('cmake-js builds Node-API only: napi_versions agree in both manifests', () => {
  const top = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const native = JSON.parse(readFileSync(join(root, 'native/package.json'), 'utf8'));
  assert.deepEqual(top.binary.napi_versions, [8]);
  assert.deepEqual(native.binary.napi_versions, top.binary.napi_versions);
});
