// Shared fixtures of the host tests: a run.json for this very process (alive, fresh heartbeat).
import type { RunJson } from '../../../native/trainer/protocol';

export function runJson(overrides: Partial<RunJson> = {}): RunJson {
  return {
    protocolVersion: 1,
    name: 'demo-r8',
    status: 'running',
    configPath: '/ws/demo.lora.yaml',
    configHash: 'abc',
    overrides: {},
    pid: process.pid,
    processStartMs: Date.now() - process.uptime() * 1000,
    heartbeatMs: Date.now(),
    heartbeatIntervalS: 5,
    engineVersion: '0.1.0',
    device: { kind: 'cpu', name: 'CPU', computePath: 'cpu-fp32' },
    step: 3,
    totalSteps: 10,
    startedMs: 1000,
    ...overrides,
  };
}
