// `lora-lab doctor`: prints the engine's device report (CPU, SIMD path, memory, CUDA devices or
// why there are none), as text or JSON.
import { loadAddon, type DeviceReport } from '../addon';
import { EXIT_OK, type CliCommand, type CliOutput } from './types';

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export function formatDeviceReport(report: DeviceReport): string {
  const simd = Object.entries(report.cpu.simd)
    .filter(([, on]) => on)
    .map(([name]) => name)
    .join(' ');
  const lines = [
    `LoRA Lab engine ${report.engineVersion}`,
    `CPU:     ${report.cpu.model}, ${report.cpu.logicalCores} logical cores usable`,
    `SIMD:    ${simd || 'none'} (kernel path: ${report.simdPath})`,
    `Memory:  ${gib(report.cpu.totalMemoryBytes)} total, ${gib(report.cpu.availableMemoryBytes)} available`,
  ];
  const cuda = report.cuda;
  if (!cuda.builtWithCuda) {
    lines.push(`CUDA:    not built in: ${cuda.unavailableReason ?? ''}`);
  } else {
    const version = (v: number) => (v ? `${Math.floor(v / 1000)}.${(v % 1000) / 10}` : 'none');
    lines.push(`CUDA:    runtime ${version(cuda.runtimeVersion)}, driver ${version(cuda.driverVersion)}`);
    for (const d of cuda.devices) {
      lines.push(
        `  cuda:${d.index} ${d.name}, compute ${d.computeCapability}, ${d.multiprocessors} SMs, ` +
          `${gib(d.totalMemoryBytes)} total, ${gib(d.freeMemoryBytes)} free`,
      );
    }
    if (cuda.devices.length === 0) lines.push(`  no CUDA device: ${cuda.unavailableReason ?? 'unknown reason'}`);
  }
  return lines.join('\n') + '\n';
}

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'Show what the engine can compute with: CPU, SIMD path, memory, CUDA devices',
  usage: 'lora-lab doctor [--json]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    const report = loadAddon().deviceReport();
    out.stdout(args.includes('--json') ? JSON.stringify(report, null, 2) + '\n' : formatDeviceReport(report));
    return EXIT_OK;
  },
};
