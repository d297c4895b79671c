// ctest: QLoRA training in the engine on a tiny random model (fp32 checkpoint, C 64, F 128, L 2):
// LoRA on nf4 / nf4-dq / fp4 bases overfits a small batch and ends within 5% of the bf16 run's
// loss; exact byte accounting (codes under weights, constants under quant_constants, <= 0.30x the
// bf16 layers); param counts unchanged; an adapter trained on nf4 saves as a PEFT adapter, reloads
// to the same logits and merges into the ORIGINAL checkpoint weights (never the dequantized ones);
// 1, 2 and 3 threads train bitwise identically.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "quant/quant.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

namespace {

std::string g_model;
const tiny::Spec kSpec = [] {
  tiny::Spec s;
  s.hidden = 64, s.intermediate = 128, s.heads = 4, s.kv_heads = 2, s.layers = 2, s.vocab = 64;
  return s;
}();
constexpr int kSteps = 40;
constexpr double kLossRelTol = 0.05;  // final loss of a quantized run vs the bf16 run, relative

EngineOptions options(Quantize q, int threads = 2) {
  EngineOptions o = test_engine_options();
  o.precision = Precision::BF16True;
  o.quantize = q;
  o.targets = LoraTargets{true, true, true, true, true, false};
  o.lora_r = 8;
  o.lora_alpha = 16;
  o.learning_rate = 1e-2f;
  o.warmup_steps = 0;
  o.lr_schedule = LrSchedule::Constant;
  o.total_steps = kSteps;
  o.threads = threads;
  return o;
}

// The overfit task: the same 4 rows of 16 tokens every step.
Batch task_batch() { return tiny::make_batch(4, 16, kSpec.vocab, 5); }

std::vector<double> train(Engine& e, int steps) {
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) losses.push_back(e.step({task_batch()}).loss);
  return losses;
}

void training_tracks_bf16() {
  auto bf16 = Engine::load(g_model, options(Quantize::None));
  const std::vector<double> ref = train(*bf16, kSteps);
  std::printf("  bf16   loss %.4f -> %.4f\n", ref.front(), ref.back());
  CHECK(ref.back() < 0.5 * ref.front());  // the task is learnable: the comparison below means something
  for (Quantize q : {Quantize::NF4, Quantize::NF4DQ, Quantize::FP4}) {
    auto e = Engine::load(g_model, options(q));
    const std::vector<double> l = train(*e, kSteps);
    const double rel = std::fabs(l.back() - ref.back()) / ref.back();
    std::printf("  %-6s loss %.4f -> %.4f (bf16 %.4f, rel diff %.2f%%, tol %.0f%%)\n",
                q == Quantize::NF4 ? "nf4" : q == Quantize::NF4DQ ? "nf4-dq" : "fp4", l.front(), l.back(), ref.back(),
                100 * rel, 100 * kLossRelTol);
    CHECK(l.back() < 0.5 * l.front());
    CHECK(rel <= kLossRelTol);
    CHECK(std::fabs(l.front() - ref.front()) > 1e-6);  // the base really is quantized (not the bf16 weights)
  }
}

// Bytes: bf16 layers 2 n; nf4 codes n/2 (+ constants 4 per 64 values, or 1 per 64 + 4 per 256 blocks + 4 with -dq).
void memory_accounting() {
  const int64_t C = kSpec.hidden, F = kSpec.intermediate, HD = C / kSpec.heads;
  const int64_t QD = kSpec.heads * HD, KD = kSpec.kv_heads * HD;
  const int64_t shapes[7][2] = {{QD, C}, {KD, C}, {KD, C}, {C, QD}, {F, C}, {F, C}, {C, F}};
  auto bf16 = Engine::load(g_model, options(Quantize::None));
  const MemoryReport rb = bf16->memory();
  const int W = static_cast<int>(MemCategory::Weights), QC = static_cast<int>(MemCategory::QuantConstants);
  for (Quantize q : {Quantize::NF4, Quantize::NF4DQ}) {
    const bool dq = q == Quantize::NF4DQ;
    uint64_t bf16_bytes = 0, codes = 0, constants = 0;
    for (int l = 0; l < kSpec.layers; ++l)
      for (const auto& s : shapes) {
        bf16_bytes += 2 * static_cast<uint64_t>(s[0] * s[1]);
        codes += quant_bytes_codes(s[0], s[1]);
        constants += quant_bytes_constants(s[0], s[1], dq);
        const uint64_t n = s[0] * s[1], nb = (n + 63) / 64;
        CHECK(quant_bytes_codes(s[0], s[1]) == n / 2);
        CHECK(quant_bytes_constants(s[0], s[1], dq) == (dq ? nb + 4 * ((nb + 255) / 256) + 4 : 4 * nb));
      }
    auto e = Engine::load(g_model, options(q));
    e->step({task_batch()});
    const MemoryReport r = e->memory();
    const double ratio = static_cast<double>(codes + constants) / bf16_bytes;
    std::printf("  %-6s layers: codes %llu + constants %llu bytes vs bf16 %llu (%.4fx); weights %llu vs bf16 engine %llu\n",
                dq ? "nf4-dq" : "nf4", (unsigned long long)codes, (unsigned long long)constants,
                (unsigned long long)bf16_bytes, ratio, (unsigned long long)r.peak[W], (unsigned long long)rb.peak[W]);
    CHECK(r.peak[QC] > 0);
    CHECK(r.peak[QC] == constants);
    CHECK(r.current[QC] == constants);
    CHECK(r.current[W] == rb.current[W] - bf16_bytes + codes);  // embeddings, norms, head unchanged
    CHECK(r.peak[W] == r.current[W]);  // no full-precision copy of a quantized layer was ever allocated
    CHECK(ratio <= 0.30);
    CHECK(e->param_counts().total == bf16->param_counts().total);
    CHECK(e->param_counts().trainable == bf16->param_counts().trainable);
  }
}

void adapter_merges_into_original(const std::string& tmp) {
  auto e = Engine::load(g_model, options(Quantize::NF4));
  train(*e, 5);
  const std::string adapter_dir = tmp + "/adapter", merged_dir = tmp + "/merged";
  e->save_adapter(adapter_dir, "tiny");
  const PeftAdapter ad = load_peft_adapter(adapter_dir);  // a normal PEFT adapter
  CHECK(ad.pairs.size() == 7u * kSpec.layers);
  // reloads onto a fresh nf4 base: the same logits
  const Batch b = task_batch();
  auto reloaded = Engine::load(g_model, options(Quantize::NF4));
  reloaded->load_adapter(adapter_dir);
  const std::vector<float> la = e->logits(b), lb = reloaded->logits(b);
  double e_reload = 0;
  for (size_t i = 0; i < la.size(); ++i) e_reload = std::fmax(e_reload, std::fabs(la[i] - lb[i]));
  CHECK(e_reload == 0.0);
  merge_adapter(g_model, adapter_dir, merged_dir);
  auto orig = CheckpointReader::open(g_model);
  auto merged = CheckpointReader::open(merged_dir);
  const double scale = ad.config.scale();
  double err_orig = 0, err_deq = 0, delta_max = 0;
  for (const PeftLoraPair& p : ad.pairs) {
    const std::string name = peft_module_path(p.module, p.layer) + ".weight";
    const int64_t OUT = p.out_features, IN = p.in_features, R = ad.config.r;
    std::vector<float> w(OUT * IN), m(OUT * IN), deq(OUT * IN);
    orig->read_f32(name, {OUT, IN}, w.data());
    merged->read_f32(name, {OUT, IN}, m.data());
    const TensorView& view = orig->get(name);
    dequantize_rows(deq.data(), quantize_tensor(view.data, view.dtype, OUT, IN, QuantType::NF4, false), 0, OUT);
    for (int64_t o = 0; o < OUT; ++o)
      for (int64_t i = 0; i < IN; ++i) {
        double delta = 0;
        for (int64_t r = 0; r < R; ++r) delta += static_cast<double>(p.B[o * R + r]) * p.A[r * IN + i];
        delta *= scale;
        const size_t k = static_cast<size_t>(o * IN + i);
        delta_max = std::fmax(delta_max, std::fabs(delta));
        err_orig = std::fmax(err_orig, std::fabs(m[k] - (w[k] + delta)));
        err_deq = std::fmax(err_deq, std::fabs(m[k] - (deq[k] + delta)));
      }
  }
  std::printf("  merge: max |merged - (W_orig + s B A)| %.2e, vs dequantized nf4 + s B A %.2e, max |s B A| %.2e\n",
              err_orig, err_deq, delta_max);
  CHECK(delta_max > 1e-3);   // the adapter learned something
  CHECK(err_orig <= 1e-6);   // fp32 rounding of the double sum
  CHECK(err_deq > 1e-3);     // and so it is not the dequantized weight
}

void thread_determinism() {
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2, 3}) {
    EngineOptions o = options(Quantize::NF4DQ, threads);
    o.lora_dropout = 0.1f;
    auto e = Engine::load(g_model, o);
    std::vector<double> out;
    for (int s = 0; s < 3; ++s) {
      StepResult r = e->step({tiny::make_batch(2, 12, kSpec.vocab, 40 + s, {12, 9}, 2 * s),
                              tiny::make_batch(2, 12, kSpec.vocab, 50 + s, {7, 12}, 2 * s + 1)});
      out.push_back(r.loss);
      out.push_back(r.grad_norm);
    }
    const std::vector<float> lp = e->logprobs(task_batch());
    out.insert(out.end(), lp.begin(), lp.end());
    runs.push_back(out);
  }
  std::printf("  nf4-dq + dropout: 1/2/3 threads %s\n", runs[0] == runs[1] && runs[0] == runs[2] ? "bitwise equal" : "DIFFER");
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}

// Gradient checkpointing recomputes the quantized forward exactly: the same losses and grad norms.
void checkpointing_matches() {
  std::vector<std::vector<double>> runs;
  for (bool ckpt : {false, true}) {
    EngineOptions o = options(Quantize::FP4DQ);
    o.gradient_checkpointing = ckpt;
    auto e = Engine::load(g_model, o);
    std::vector<double> out;
    for (int s = 0; s < 3; ++s) {
      StepResult r = e->step({task_batch()});
      out.push_back(r.loss);
      out.push_back(r.grad_norm);
    }
    runs.push_back(out);
  }
  std::printf("  fp4-dq: gradient checkpointing %s\n", runs[0] == runs[1] ? "bitwise equal" : "DIFFERS");
  CHECK(runs[0] == runs[1]);
}

bool throws_code(const std::function<void()>& f, const std::string& code) {
  try {
    f();
  } catch (const Error& e) {
    return e.code() == code;
  }
  return false;
}

}  // namespace

int main() {
  const std::string tmp = tiny::make_temp_dir("qlora_train");
  g_model = tiny::write_model(tmp + "/model", kSpec);
  try {
    training_tracks_bf16();
    memory_accounting();
    adapter_merges_into_original(tmp);
    thread_determinism();
    checkpointing_matches();
    EngineOptions full = options(Quantize::NF4);
    full.method = Method::Full;
    CHECK(throws_code([&] { Engine::load(g_model, full); }, "E_CONFIG_INVALID"));
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  remove_tree(tmp);
  return test_summary("test_qlora_train");
}
