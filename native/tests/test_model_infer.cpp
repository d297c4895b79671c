// ctest: inference paths on a tiny model. KV-cache greedy generation == argmax of full recomputed
// logits; seeded temperature / top-p sampling; stop tokens, on_token stop, abort() and the E_BUSY
// refusal from inside a callback; sampling frequencies; adapter save -> load round trip.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "model/llama_generate.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static int32_t argmax_last(const std::vector<float>& logits, int64_t T, int64_t V) {
  int32_t best = 0;
  for (int64_t v = 1; v < V; ++v)
    if (logits[(T - 1) * V + v] > logits[(T - 1) * V + best]) best = static_cast<int32_t>(v);
  return best;
}

static void generation(Engine& e) {
  const int64_t V = e.config().vocab_size;
  std::vector<int32_t> prompt = {5, 17, 42, 8};
  GenerateOptions g;
  g.max_new_tokens = 12;
  std::vector<int32_t> cached = e.generate(prompt, g, nullptr);
  // without cache: recompute the whole sequence each time
  std::vector<int32_t> seq = prompt, plain;
  for (int i = 0; i < g.max_new_tokens; ++i) {
    Batch b;
    b.rows = 1, b.seq_len = static_cast<int>(seq.size()), b.tokens = seq;
    int32_t next = argmax_last(e.logits(b), b.seq_len, V);
    plain.push_back(next);
    seq.push_back(next);
  }
  CHECK(cached == plain);
  // seeded sampling
  GenerateOptions s = g;
  s.temperature = 1.5f, s.top_p = 0.9f, s.seed = 7;
  auto s1 = e.generate(prompt, s, nullptr), s2 = e.generate(prompt, s, nullptr);
  s.seed = 8;
  auto s3 = e.generate(prompt, s, nullptr);
  CHECK(s1 == s2);
  CHECK(s1 != s3);
  GenerateOptions nucleus = g;
  nucleus.temperature = 1.0f, nucleus.top_p = 1e-6f;
  CHECK(e.generate(prompt, nucleus, nullptr) == cached);  // a tiny nucleus is the top token
  // stop tokens and on_token
  GenerateOptions stop = g;
  stop.stop_tokens = {cached[2]};
  auto stopped = e.generate(prompt, stop, nullptr);
  CHECK(stopped.size() == 3 && stopped.back() == cached[2]);
  int seen = 0;
  auto one = e.generate(prompt, g, [&](int32_t) { return ++seen < 2; });
  CHECK(one.size() == 2 && seen == 2);
  // abort() from the streaming callback stops at the next layer boundary
  bool aborted = false;
  try {
    e.generate(prompt, g, [&](int32_t) { e.abort(); return true; });
  } catch (const Error& err) {
    aborted = err.code() == "E_ABORTED";
  }
  CHECK(aborted);
  // a concurrent call is refused while one is in flight; the engine stays usable
  bool busy = false;
  e.generate(prompt, GenerateOptions{2, 0.0f, 1.0f, 0, {}}, [&](int32_t) {
    try {
      Batch b;
      b.rows = 1, b.seq_len = 1, b.tokens = {1};
      e.logits(b);
    } catch (const Error& err) {
      busy = err.code() == "E_BUSY";
    }
    return true;
  });
  CHECK(busy);
  CHECK(e.generate(prompt, g, nullptr) == cached);
  std::printf("  generate: cached greedy == recomputed argmax (%zu tokens), sampling seeded, stop/abort/busy ok\n",
              cached.size());
}

static void sampling_frequencies() {
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), -30.0f};  // p = 1/6, 2/6, 3/6, ~0
  GenerateOptions o;
  o.temperature = 1.0f;
  o.seed = 3;
  std::vector<int> counts(4, 0);
  const int draws = 6000;
  for (int i = 0; i < draws; ++i) counts[sample_token(logits.data(), 4, o, i)]++;
  std::printf("  sampling: %d / %d / %d / %d of %d (expect 1000 / 2000 / 3000 / 0)\n", counts[0], counts[1], counts[2],
              counts[3], draws);
  CHECK(std::abs(counts[0] - 1000) < 120 && std::abs(counts[1] - 2000) < 150 && std::abs(counts[2] - 3000) < 150);
  CHECK(counts[3] == 0);
  o.top_p = 0.6f;  // nucleus {2, 1}: mass 5/6 renormalised
  std::fill(counts.begin(), counts.end(), 0);
  for (int i = 0; i < draws; ++i) counts[sample_token(logits.data(), 4, o, i)]++;
  CHECK(counts[0] == 0 && counts[3] == 0 && std::abs(counts[2] - 3600) < 200);
}

static void adapter_round_trip(const std::string& model, const std::string& dir) {
  EngineOptions o = test_engine_options();
  o.precision = Precision::FP32True;
  o.targets = LoraTargets{true, false, true, true, true, true};
  o.rslora = true;
  o.lora_r = 4;
  o.lora_alpha = 8;
  o.learning_rate = 1e-2f;
  o.warmup_steps = 0;
  auto trained = Engine::load(model, o);
  Batch b = tiny::make_batch(2, 8, 64, 5, {8, 6});
  for (int s = 0; s < 3; ++s) trained->step({b});
  trained->save_adapter(dir, "tiny-base");
  CHECK(path_exists(dir + "/adapter_config.json") && path_exists(dir + "/adapter_model.safetensors"));
  EngineOptions plain = test_engine_options();  // other targets / rank: load_adapter takes the adapter's own config
  plain.precision = Precision::FP32True;
  auto loaded = Engine::load(model, plain);
  auto base_logits = loaded->logits(b);
  loaded->load_adapter(dir);
  auto l1 = trained->logits(b), l2 = loaded->logits(b);
  CHECK(l1 == l2);
  CHECK(l1 != base_logits);
  CHECK(loaded->param_counts().trainable == trained->param_counts().trainable);
  std::printf("  adapter: save -> load gives bitwise the trained logits (%lld trainable)\n",
              static_cast<long long>(loaded->param_counts().trainable));
}

int main() {
  const std::string dir = tiny::make_temp_dir("infer");
  const std::string model = tiny::write_model(dir + "/model", tiny::Spec{});
  try {
    EngineOptions o = test_engine_options();
    o.precision = Precision::BF16True;
    o.training = false;
    auto e = Engine::load(model, o);
    generation(*e);
    sampling_frequencies();
    adapter_round_trip(model, dir + "/adapter");
  } catch (const Error& err) {
    std::fprintf(stderr, "%s [%s] at %s\n", err.what(), err.code().c_str(), err.where().c_str());
    CHECK(false);
  }
  remove_tree(dir);
  return test_summary("test_model_infer");
}
