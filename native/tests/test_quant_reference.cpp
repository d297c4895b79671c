// ctest: the engine's bitsandbytes-style quantization (quant/quant.h) against the independent
// PyTorch reference (test/reference/quant_ref.py): the signed dynamic 8-bit map, and the dequantized
// layer-0 weights of the bf16 fixtures for nf4, nf4-dq, fp4 and fp4-dq.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "quant/quant.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace loralab;

namespace {

void check_dynamic_map(const SafetensorsFile& golden) {
  std::vector<float> want(256);
  tensor_to_f32(golden.get("dynamic_map"), want.data());
  // torch.linspace (inside create_dynamic_map) rounds differently across torch versions and CPUs:
  // values may differ by an ulp or two (boundaries, then their mean), never more; 0 and +-1 are exact.
  int same = 0, within_2ulp = 0;
  for (int i = 0; i < 256; ++i) {
    const float got = dynamic_map()[i];
    int32_t a, b;
    std::memcpy(&a, &got, 4);
    std::memcpy(&b, &want[i], 4);
    same += got == want[i];
    within_2ulp += (got < 0) == (want[i] < 0) && std::llabs(int64_t(a) - int64_t(b)) <= 2;
  }
  std::printf("dynamic map: %d/256 values identical to this torch's create_dynamic_map, %d within 2 ulp\n", same,
              within_2ulp);
  CHECK(within_2ulp == 256);
  CHECK(dynamic_map()[0] == -1.0f || dynamic_map()[0] == want[0]);
  CHECK(dynamic_map()[255] == 1.0f);
}

void check_fixture(const std::string& name) {
  const std::string dir = "test/reference/fixtures/" + name;
  auto golden = SafetensorsFile::open(dir + "/quant_golden.safetensors");
  auto ckpt = CheckpointReader::open(dir);
  check_dynamic_map(*golden);
  struct Kind {
    const char* label;
    QuantType type;
    bool dq;
  } kinds[] = {{"nf4", QuantType::NF4, false}, {"nf4-dq", QuantType::NF4, true},
               {"fp4", QuantType::FP4, false}, {"fp4-dq", QuantType::FP4, true}};
  for (const Kind& k : kinds) {
    double worst_rel = 0;
    int64_t differing = 0, total = 0;
    const std::string prefix = std::string("dequant.") + k.label + ".";
    int modules = 0;
    for (const std::string& gname : golden->names()) {  // layer 0's quantized linears, whatever the family
      if (gname.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string wname = gname.substr(prefix.size());
      ++modules;
      const TensorView& w = ckpt->get(wname);
      QuantizedWeight q = quantize_tensor(w.data, w.dtype, w.shape[0], w.shape[1], k.type, k.dq);
      std::vector<float> got(static_cast<size_t>(w.numel()));  // (OC, IC)
      dequantize_rows(got.data(), q, 0, w.shape[0]);
      std::vector<float> want(got.size());
      tensor_to_f32(golden->get(std::string("dequant.") + k.label + "." + wname), want.data());
      float scale = 0;
      for (float v : want) scale = std::max(scale, std::fabs(v));
      for (size_t i = 0; i < got.size(); ++i) {
        differing += got[i] != want[i];
        worst_rel = std::max(worst_rel, std::fabs(double(got[i]) - want[i]) / scale);
      }
      total += static_cast<int64_t>(got.size());
    }
    std::printf("%s %-6s: %lld/%lld dequantized values differ from the reference, worst %.3g of max |w|\n",
                name.c_str(), k.label, static_cast<long long>(differing), static_cast<long long>(total), worst_rel);
    // Without double quantization the codes and absmax must be identical. With it, the fp32 mean of the
    // absmax may round differently (torch's summation order), moving values by an ulp or so.
    CHECK(modules >= 4);
    if (!k.dq) CHECK(differing == 0);
    CHECK(worst_rel <= (k.dq ? 1e-6 : 0.0));
  }
}

}  // namespace

int main() {
  for (const char* name : {"llama_gqa_llama3_bf16", "qwen2_bias_tied_bf16", "phi_bf16", "falcon_grouped_bias_bf16"})
    check_fixture(name);
  return test_summary("test_quant_reference");
}
