// QLoRA base weights on CUDA: a QuantizedWeight (native/src/quant/quant.h: NF4/FP4 codes, element 2i
// in the high nibble, blocks of 64, optional double quantization) uploaded once, and dequantized to
// bf16 (or fp32) rows on the device with bitwise the CPU's values (code value * block absmax, the
// double-quant absmax as dynamic_map[q] * scale + mean in that fp32 order). Plain C++ for tests.
// Legend: OC weight rows, IC weight cols, n = OC*IC, nb = ceil(n/64), nb2 = ceil(nb/256).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_alloc.h"
#include "quant/quant.h"

namespace loralab {
namespace cuda {

// Device copy of a QuantizedWeight. Codes are accounted under Weights, the constants (absmax or
// absmax_q + absmax_scale) under QuantConstants, as the CPU engine does.
struct QuantWeightDevice {
  QuantType type = QuantType::NF4;
  bool double_quant = false;
  int64_t rows = 0, cols = 0;
  DeviceBuffer<uint8_t> codes;         // ((n+1)/2)
  DeviceBuffer<float> absmax;          // (nb), empty with double_quant
  DeviceBuffer<uint8_t> absmax_q;      // (nb), double_quant
  DeviceBuffer<float> absmax_scale;    // (nb2), double_quant
  float absmax_mean = 0.0f;
};

// Copies w to the device (synchronously on stream; w must be consistent()).
QuantWeightDevice upload_quantized(CudaAllocator* alloc, const QuantizedWeight& w, cudaStream_t stream);

// out (n, IC) = rows [row_begin, row_begin+n) of the dequantized weight (cf. quant.h dequantize_rows)
void dequantize_rows(__nv_bfloat16* out, const QuantWeightDevice& w, int64_t row_begin, int64_t n, cudaStream_t stream);
void dequantize_rows(float* out, const QuantWeightDevice& w, int64_t row_begin, int64_t n, cudaStream_t stream);

}  // namespace cuda
}  // namespace loralab
