// `lora-lab calibrate [--device cpu|cuda:N] [--quick] [--json]`: short engine runs on generated models
// measure this machine's training throughput (FLOP/s); cached per device for the time estimate.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelShape, trainingFlopsPerToken, type LoraTargets } from '../../../language-server/src/estimator';
import { countParams } from '../../../language-server/src/estimator/params';
import { loadAddon, type EngineBatch } from '../addon';
import { calibrationFilePath, type CalibrationRecord } from '../../../language-server/src/lib/calibration-file';
import { deviceKey, writeCalibrationRecord } from '../estimator-io';
import { writeSafetensors, type NamedTensor } from '../io/safetensors';
import { configWith, engineOptions, threadCount } from '../run/engine-options';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

const USAGE = 'lora-lab calibrate [--device cpu|cuda:N] [--quick] [--json]';

interface CalibrationModel {
  hidden: number;
  intermediate: number;
  layers: number;
  vocab: number;
}

/** ~34M parameters: matrices large enough for the GEMMs' steady throughput, small enough for ~10 s. */
const MODEL: CalibrationModel = { hidden: 1024, intermediate: 2752, layers: 2, vocab: 4096 };
const QUICK_MODEL: CalibrationModel = { hidden: 256, intermediate: 688, layers: 2, vocab: 2048 };

/**
 * Two runs with the same tokens per step and so the same GEMM FLOPs: short rows (little attention)
 * and long rows (4x the attention per token). Their time difference prices attention; the rest prices the GEMMs.
 */
function shapes(quick: boolean): Array<{ rows: number; seqLen: number }> {
  return quick
    ? [
        { rows: 4, seqLen: 32 },
        { rows: 1, seqLen: 128 },
      ]
    : [
        { rows: 4, seqLen: 128 },
        { rows: 1, seqLen: 512 },
      ];
}

/** Rates from the two runs' (GEMM FLOPs, attention FLOPs, seconds); null when noise makes them inconsistent. */
export function solveRates(
  short: { matmul: number; attention: number; seconds: number },
  long: { matmul: number; attention: number; seconds: number },
): { matmul: number; attention: number } | null {
  // seconds = matmul * x + attention * y for both runs: a 2x2 system in the seconds per FLOP x, y
  const det = short.matmul * long.attention - long.matmul * short.attention;
  const matmulSecondsPerFlop = (short.seconds * long.attention - long.seconds * short.attention) / det;
  const attentionSecondsPerFlop = (short.matmul * long.seconds - long.matmul * short.seconds) / det;
  if (!(attentionSecondsPerFlop > 0) || !(matmulSecondsPerFlop > 0)) return null;
  return { matmul: 1 / matmulSecondsPerFlop, attention: 1 / attentionSecondsPerFlop };
}
const TARGETS: LoraTargets = { query: true, key: false, value: true, projection: false, mlp: false, head: false };

/** A random bf16 Llama checkpoint (config.json + model.safetensors); no tokenizer is needed to train on ids. */
function writeModel(dir: string, m: CalibrationModel): void {
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 4294967296 - 0.5) * 0.04;
  };
  const tensor = (name: string, shape: number[], fill?: number): NamedTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill ?? random();
    return { name, shape, data };
  };
  const heads = m.hidden / 64;
  const tensors = [tensor('model.embed_tokens.weight', [m.vocab, m.hidden])];
  for (let l = 0; l < m.layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      tensor(`${p}.input_layernorm.weight`, [m.hidden], 1),
      tensor(`${p}.self_attn.q_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.k_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.v_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.o_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.post_attention_layernorm.weight`, [m.hidden], 1),
      tensor(`${p}.mlp.gate_proj.weight`, [m.intermediate, m.hidden]),
      tensor(`${p}.mlp.up_proj.weight`, [m.intermediate, m.hidden]),
      tensor(`${p}.mlp.down_proj.weight`, [m.hidden, m.intermediate]),
    );
  }
  tensors.push(tensor('model.norm.weight', [m.hidden], 1), tensor('lm_head.weight', [m.vocab, m.hidden]));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, 'BF16');
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: m.vocab,
    hidden_size: m.hidden,
    intermediate_size: m.intermediate,
    num_hidden_layers: m.layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    torch_dtype: 'bfloat16',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}

function batch(rows: number, seqLen: number, vocab: number): EngineBatch {
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % vocab;
  return {
    rows,
    seqLen,
    tokens: Int32Array.from({ length: rows * seqLen }, next),
    targets: Int32Array.from({ length: rows * seqLen }, next),
    lengths: new Int32Array(rows).fill(seqLen),
  };
}

export const calibrateCommand: CliCommand = {
  name: 'calibrate',
  summary: "Measure this machine's training throughput for the time estimate (cached per device)",
  usage: USAGE,
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    const deviceAt = args.indexOf('--device');
    const device = deviceAt >= 0 ? args[deviceAt + 1] : 'cpu';
    if (!device?.match(/^(cpu|cuda(:\d+)?)$/) || args.some((a, i) => !a.startsWith('--') && (deviceAt < 0 || i !== deviceAt + 1))) {
      out.stderr(`Usage: ${USAGE}\n`);
      return EXIT_USAGE;
    }
    const addon = loadAddon();
    const report = addon.deviceReport();
    const threads = threadCount();
    const quick = args.includes('--quick');
    const model = quick ? QUICK_MODEL : MODEL;
    const dir = mkdtempSync(join(tmpdir(), 'lora-lab-calibrate-'));
    const runs: CalibrationRecord['runs'] = [];
    const split: Array<{ matmul: number; attention: number; seconds: number }> = [];
    let computePath = '';
    try {
      writeModel(dir, model);
      const shape = readModelShape(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
      const config = configWith({
        'model.precision': 'bf16-true',
        'train.method': 'lora',
        'lora.r': 8,
        'lora.alpha': 16,
        'lora.dropout': 0.05,
        'lora.query': TARGETS.query,
        'lora.key': TARGETS.key,
        'lora.value': TARGETS.value,
        'lora.projection': TARGETS.projection,
        'lora.mlp': TARGETS.mlp,
        'lora.head': TARGETS.head,
        device,
        'train.warmup_steps': 0,
      });
      const engine = await addon.loadEngine(dir, engineOptions(config, 100, true, undefined, threads));
      try {
        computePath = engine.computePath();
        for (const { rows, seqLen } of shapes(quick)) {
          const microBatch = batch(rows, seqLen, model.vocab);
          await engine.step([microBatch]); // the first step of a shape allocates its buffers
          // the fastest of a few steps: other processes on the machine only ever make a step slower
          let secondsPerStep = Infinity;
          for (let s = 0; s < (quick ? 1 : 3); s++) {
            const started = process.hrtime.bigint();
            await engine.step([microBatch]);
            secondsPerStep = Math.min(secondsPerStep, Number(process.hrtime.bigint() - started) / 1e9);
          }
          const flops = trainingFlopsPerToken({
            shape,
            method: 'lora',
            rank: 8,
            targets: TARGETS,
            gradientCheckpointing: false,
            rows: seqLen,
            globalBatchSize: rows,
            steps: null,
          });
          const tokensPerStep = rows * seqLen;
          runs.push({
            params: countParams(shape, 'lora', 8, TARGETS).base,
            tokensPerStep,
            secondsPerStep,
            flopsPerSecond: (flops.total * tokensPerStep) / secondsPerStep,
          });
          split.push({
            matmul: (flops.matmulForward + flops.matmulBackward) * tokensPerStep,
            attention: flops.attention * tokensPerStep,
            seconds: secondsPerStep,
          });
        }
      } finally {
        engine.dispose();
      }
    } catch (error) {
      out.stderr(`lora-lab calibrate: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const rates = solveRates(split[0], split[1]);
    const key = deviceKey(device, report, threads);
    const record: CalibrationRecord = {
      key,
      device: device.startsWith('cuda') ? key : `${report.cpu.model} (${threads} threads)`,
      computePath,
      threads,
      measuredAt: new Date().toISOString(),
      flopsPerSecond: runs[0].flopsPerSecond,
      ...(rates
        ? {
            matmulForwardFlopsPerSecond: rates.matmul,
            matmulBackwardFlopsPerSecond: rates.matmul,
            attentionFlopsPerSecond: rates.attention,
          }
        : {}),
      runs,
    };
    writeCalibrationRecord(record);
    if (args.includes('--json')) out.stdout(`${JSON.stringify({ ...record, file: calibrationFilePath() }, null, 2)}\n`);
    else {
      for (const r of runs)
        out.stdout(
          `  ${(r.params / 1e6).toFixed(1)}M parameters, ${r.tokensPerStep} tokens per step (${r === runs[0] ? 'short' : 'long'} rows): ${r.secondsPerStep.toFixed(2)} s per step, ${(r.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s\n`,
        );
      const detail = rates
        ? ` (GEMMs ${(rates.matmul / 1e9).toFixed(1)}, attention ${(rates.attention / 1e9).toFixed(1)} GFLOP/s)`
        : ' (one rate: the two runs were too noisy to separate attention)';
      out.stdout(
        `${record.device} [${computePath}]: ${(record.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s${detail}, saved to ${calibrationFilePath()}\n`,
      );
    }
    return EXIT_OK;
  },
};
