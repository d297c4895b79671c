// Loglikelihood scoring for evaluation (lm-eval's loglikelihood requests): per request the sum of
// the continuation tokens' log-probabilities (fp32 logits, log_softmax and sum in double) and
// whether every continuation token is the argmax (teacher-forced). The CPU path runs requests in
// context order over one KV cache, so a prefix shared with the previous request is computed once.
// Legend: V vocabulary, n continuation tokens.
#pragma once
#include <cstdint>
#include <vector>

#include "engine.h"

namespace loralab {

class LlamaModel;
class MemTracker;

// Checks token ids against the vocabulary, non-empty context and continuation, and that
// context + continuation - 1 fits max_positions (0: no limit). Errors name the request index.
void check_score_requests(const std::vector<ScoreRequest>& requests, int64_t vocab_size, int64_t max_positions);

// Adds log_softmax(logits)[targets] over n rows (n, V) to *sum and clears *greedy where a target is
// not the first argmax of its row.
void score_rows(const float* logits, const int32_t* targets, int64_t n, int64_t V, double* sum, bool* greedy);

// Order in which to run the requests so that equal / longer shared prefixes are adjacent (sorted
// by context tokens; stable).
std::vector<size_t> score_order(const std::vector<ScoreRequest>& requests);

// The CPU path over LlamaModel::forward_cached; options.share_prefix reuses the longest common
// prefix (within the context) of consecutive requests; off, every request is computed whole.
std::vector<ScoreResult> score_cached(LlamaModel& model, const std::vector<ScoreRequest>& requests,
                                      const ScoreOptions& options, MemTracker* mem);

}  // namespace loralab
