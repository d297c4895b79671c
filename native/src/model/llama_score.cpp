// Loglikelihood scoring over the KV cache (see llama_score.h).
#include "model/llama_score.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "error.h"
#include "memory.h"
#include "model/llama.h"

namespace loralab {

void check_score_requests(const std::vector<ScoreRequest>& requests, int64_t vocab_size, int64_t max_positions) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const ScoreRequest& r = requests[i];
    const std::string which = "score(): request " + std::to_string(i);
    LORALAB_CHECK(!r.context.empty(), "E_BATCH", which + " has no context tokens (an empty context is one prefix token, BOS or EOS)");
    LORALAB_CHECK(!r.continuation.empty(), "E_BATCH", which + " has no continuation tokens");
    for (const auto* ids : {&r.context, &r.continuation})
      for (int32_t id : *ids)
        LORALAB_CHECK(
            id >= 0 && id < vocab_size, "E_BATCH",
            which + ": token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(vocab_size - 1) + ")");
    const int64_t input = static_cast<int64_t>(r.context.size() + r.continuation.size()) - 1;
    LORALAB_CHECK(max_positions <= 0 || input <= max_positions, "E_BATCH",
                  which + " feeds " + std::to_string(input) + " tokens, more than the model's max_position_embeddings " +
                      std::to_string(max_positions) + "; truncate the context on the left first");
  }
}

void score_rows(const float* logits, const int32_t* targets, int64_t n, int64_t V, double* sum, bool* greedy) {
  for (int64_t t = 0; t < n; ++t) {
    const float* row = logits + t * V;
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (row[v] > row[best]) best = v;
    const double mx = row[best];
    double s = 0.0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(static_cast<double>(row[v]) - mx);
    *sum += static_cast<double>(row[targets[t]]) - mx - std::log(s);
    if (best != targets[t]) *greedy = false;
  }
}

std::vector<size_t> score_order(const std::vector<ScoreRequest>& requests) {
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return requests[a].context < requests[b].context; });
  return order;
}

std::vector<ScoreResult> score_cached(LlamaModel& model, const std::vector<ScoreRequest>& requests,
                                      const ScoreOptions& options, MemTracker* mem) {
  const int64_t V = model.config().vocab_size;
  std::vector<ScoreResult> out(requests.size());
  if (requests.empty()) return out;
  int64_t capacity = 0, max_cont = 0;
  for (const ScoreRequest& r : requests) {
    capacity = std::max<int64_t>(capacity, static_cast<int64_t>(r.context.size() + r.continuation.size()) - 1);
    max_cont = std::max<int64_t>(max_cont, static_cast<int64_t>(r.continuation.size()));
  }
  KvCache cache;
  model.allocate_cache(cache, capacity);
  Buffer<float> logits(mem, MemCategory::Logits, static_cast<size_t>(max_cont) * V);
  std::vector<int32_t> cached;  // tokens whose keys / values the cache holds at positions [0, size)
  std::vector<int32_t> input;
  const std::vector<size_t> order = options.share_prefix ? score_order(requests) : [&] {
    std::vector<size_t> o(requests.size());
    std::iota(o.begin(), o.end(), 0);
    return o;
  }();
  int64_t done = 0;
  for (size_t i : order) {
    const ScoreRequest& r = requests[i];
    const int64_t nc = static_cast<int64_t>(r.context.size()), nt = static_cast<int64_t>(r.continuation.size());
    input.assign(r.context.begin(), r.context.end());
    input.insert(input.end(), r.continuation.begin(), r.continuation.end() - 1);
    // reuse: the common prefix with the cached tokens, at most nc - 1 (logits are needed from
    // position nc - 1 on, so that position is always recomputed)
    int64_t reuse = 0;
    if (options.share_prefix) {
      const int64_t limit = std::min<int64_t>(nc - 1, static_cast<int64_t>(cached.size()));
      while (reuse < limit && cached[reuse] == input[reuse]) ++reuse;
    }
    const int64_t n = static_cast<int64_t>(input.size()) - reuse;
    model.forward_cached(cache, input.data() + reuse, n, reuse, logits.data(), nt);
    cached.assign(input.begin(), input.end());
    ScoreResult res;
    res.computed = n;
    score_rows(logits.data(), r.continuation.data(), nt, V, &res.sum_logprob, &res.is_greedy);
    out[i] = res;
    ++done;
    if (options.on_progress) options.on_progress(done, static_cast<int64_t>(requests.size()));
  }
  return out;
}

}  // namespace loralab
