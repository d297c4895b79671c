// NF4 / FP4 dequantization on CUDA with the CPU engine's codebooks and packing (native/src/quant):
// one thread per weight element; the 16-entry codebook and the 256-entry dynamic map travel as a
// kernel argument (no device globals to initialise). Explicit _rn intrinsics keep the double-quant
// absmax bitwise equal to QuantizedWeight::block_absmax (no fused multiply-add).
// Legend: IC weight cols, n elements dequantized, nb blocks of 64, nb2 blocks of 256 absmax.
#pragma once
#include "cuda_common.cuh"
#include "quant_cuda.h"

namespace loralab {
namespace cuda {

struct QuantTables {
  float codebook[16];
  float dynamic_map[256];
};

// out (count) = elements [e0, e0+count) of the flattened weight
template <typename TOut>
__global__ void dequantize_kernel(TOut* out, const uint8_t* codes, const float* absmax, const uint8_t* absmax_q,
                                  const float* absmax_scale, float absmax_mean, bool double_quant, int64_t e0,
                                  int64_t count, const QuantTables tables) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int64_t e = e0 + i, block = e / 64;
  const uint8_t byte = codes[e / 2];
  const int code = (e % 2 == 0) ? (byte >> 4) : (byte & 0x0f);
  float scale;
  if (double_quant)
    scale = __fadd_rn(__fmul_rn(tables.dynamic_map[absmax_q[block]], absmax_scale[block / 256]), absmax_mean);
  else
    scale = absmax[block];
  out[i] = from_f32<TOut>(__fmul_rn(tables.codebook[code], scale));
}

// ------------------------------------------------------------------------------------------------
// launchers

QuantWeightDevice upload_quantized(CudaAllocator* alloc, const QuantizedWeight& w, cudaStream_t stream) {
  LORALAB_CHECK(w.consistent(), "E_QUANT_SHAPE", "upload_quantized: the quantized weight's arrays do not match its shape");
  QuantWeightDevice d;
  d.type = w.type;
  d.double_quant = w.double_quant;
  d.rows = w.rows;
  d.cols = w.cols;
  d.absmax_mean = w.absmax_mean;
  d.codes = DeviceBuffer<uint8_t>(alloc, MemCategory::Weights, w.codes.size());
  LORALAB_CUDA_CHECK(cudaMemcpyAsync(d.codes.data(), w.codes.data(), w.codes.size(), cudaMemcpyHostToDevice, stream));
  if (w.double_quant) {
    d.absmax_q = DeviceBuffer<uint8_t>(alloc, MemCategory::QuantConstants, w.absmax_q.size());
    d.absmax_scale = DeviceBuffer<float>(alloc, MemCategory::QuantConstants, w.absmax_scale.size());
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(d.absmax_q.data(), w.absmax_q.data(), w.absmax_q.size(), cudaMemcpyHostToDevice,
                                       stream));
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(d.absmax_scale.data(), w.absmax_scale.data(), 4 * w.absmax_scale.size(),
                                       cudaMemcpyHostToDevice, stream));
  } else {
    d.absmax = DeviceBuffer<float>(alloc, MemCategory::QuantConstants, w.absmax.size());
    LORALAB_CUDA_CHECK(
        cudaMemcpyAsync(d.absmax.data(), w.absmax.data(), 4 * w.absmax.size(), cudaMemcpyHostToDevice, stream));
  }
  LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));  // the host vectors may go away after return
  return d;
}

template <typename TOut>
static void dequantize_launch(TOut* out, const QuantWeightDevice& w, int64_t row_begin, int64_t n,
                              cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(row_begin >= 0 && n >= 0 && row_begin + n <= w.rows, "dequantize_rows: rows out of range");
  if (n == 0) return;
  QuantTables tables;
  const float* cb = w.type == QuantType::NF4 ? nf4_codebook() : fp4_codebook();
  for (int i = 0; i < 16; ++i) tables.codebook[i] = cb[i];
  const float* dm = dynamic_map();
  for (int i = 0; i < 256; ++i) tables.dynamic_map[i] = dm[i];
  const int64_t count = n * w.cols;
  dequantize_kernel<TOut><<<ceil_div(count, 256), 256, 0, stream>>>(
      out, w.codes.data(), w.absmax.data(), w.absmax_q.data(), w.absmax_scale.data(), w.absmax_mean, w.double_quant,
      row_begin * w.cols, count, tables);
  LORALAB_CUDA_LAUNCH_CHECK("dequantize_kernel");
}

void dequantize_rows(bf16* out, const QuantWeightDevice& w, int64_t row_begin, int64_t n, cudaStream_t stream) {
  dequantize_launch<bf16>(out, w, row_begin, n, stream);
}
void dequantize_rows(float* out, const QuantWeightDevice& w, int64_t row_begin, int64_t n, cudaStream_t stream) {
  dequantize_launch<float>(out, w, row_begin, n, stream);
}

}  // namespace cuda
}  // namespace loralab
