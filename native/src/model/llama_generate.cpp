// Token sampling and the generation loop over LlamaModel::forward_cached.
#include "model/llama_generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "error.h"
#include "rng.h"

namespace loralab {

int32_t sample_token(const float* logits, int64_t V, const GenerateOptions& options, uint64_t index) {
  if (options.temperature <= 0.0f) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = i;
    return static_cast<int32_t>(best);
  }
  double mx = logits[0];
  for (int64_t i = 1; i < V; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  std::vector<double> probs(V);
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) sum += probs[i] = std::exp((logits[i] - mx) / options.temperature);
  for (auto& p : probs) p /= sum;
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
  // nucleus: the smallest prefix whose mass reaches top_p (always at least one token)
  int64_t keep = V;
  if (options.top_p < 1.0f) {
    double cum = 0.0;
    for (int64_t i = 0; i < V; ++i) {
      cum += probs[order[i]];
      if (cum >= options.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double mass = 0.0;
  for (int64_t i = 0; i < keep; ++i) mass += probs[order[i]];
  double u = rng_uniform01_f64(rng_hash(options.seed, kRngSample, index)) * mass;
  for (int64_t i = 0; i < keep; ++i) {
    u -= probs[order[i]];
    if (u < 0.0) return order[i];
  }
  return order[keep - 1];
}

std::vector<int32_t> generate_tokens(LlamaModel& model, const std::vector<int32_t>& prompt,
                                     const GenerateOptions& options, const std::function<bool(int32_t)>& on_token) {
  LORALAB_CHECK(!prompt.empty(), "E_BATCH", "generate: the prompt is empty");
  LORALAB_CHECK(options.max_new_tokens >= 0, "E_BATCH", "generate: max_new_tokens must be >= 0");
  LORALAB_CHECK(options.top_p > 0.0f && options.top_p <= 1.0f, "E_BATCH",
                "generate: top_p must be in (0, 1] (got " + std::to_string(options.top_p) + ")");
  const int64_t V = model.config().vocab_size;
  std::vector<int32_t> out;
  if (options.max_new_tokens == 0) return out;
  KvCache cache;
  model.allocate_cache(cache, static_cast<int64_t>(prompt.size()) + options.max_new_tokens);
  std::vector<float> logits(V);
  model.forward_cached(cache, prompt.data(), static_cast<int64_t>(prompt.size()), 0, logits.data());
  int64_t pos = static_cast<int64_t>(prompt.size());
  for (int i = 0; i < options.max_new_tokens; ++i) {
    int32_t tok = sample_token(logits.data(), V, options, static_cast<uint64_t>(i));
    out.push_back(tok);
    bool keep_going = on_token ? on_token(tok) : true;
    bool stop = std::find(options.stop_tokens.begin(), options.stop_tokens.end(), tok) != options.stop_tokens.end();
    if (!keep_going || stop || i + 1 == options.max_new_tokens) break;
    model.forward_cached(cache, &tok, 1, pos, logits.data());
    ++pos;
  }
  return out;
}

}  // namespace loralab
