// ctest: Engine::score (evaluation loglikelihood). Per request, sum_logprob equals the sum of the
// logprobs() path over the continuation targets and is_greedy equals the argmax of logits(), with
// and without prefix sharing, on the base model and with a trained adapter; results come back in
// request order; progress, abort, bad requests and KV-cache memory accounting.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "model/llama_score.h"
#include "rng.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

// The reference: one full forward per request through logprobs() and logits().
static ScoreResult reference(Engine& e, const ScoreRequest& r) {
  const int64_t V = e.config().vocab_size;
  std::vector<int32_t> seq = r.context;
  seq.insert(seq.end(), r.continuation.begin(), r.continuation.end());
  Batch b;
  b.rows = 1, b.seq_len = static_cast<int>(seq.size()) - 1;
  b.tokens.assign(seq.begin(), seq.end() - 1);
  b.targets.assign(b.seq_len, -100);
  const int64_t nc = static_cast<int64_t>(r.context.size());
  for (int64_t t = nc - 1; t < b.seq_len; ++t) b.targets[t] = seq[t + 1];
  auto lp = e.logprobs(b);
  auto logits = e.logits(b);
  ScoreResult out;
  for (int64_t t = nc - 1; t < b.seq_len; ++t) {
    out.sum_logprob += lp[t];
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (logits[t * V + v] > logits[t * V + best]) best = v;
    if (best != b.targets[t]) out.is_greedy = false;
  }
  return out;
}

// Multiple-choice style requests: questions sharing a long preamble, each with several choices,
// plus short and 1-token contexts, in a shuffled order.
static std::vector<ScoreRequest> make_requests(int V, uint64_t seed) {
  std::vector<int32_t> preamble;
  for (int i = 0; i < 24; ++i) preamble.push_back(static_cast<int32_t>(rng_hash(seed, 1, i) % V));
  std::vector<ScoreRequest> out;
  for (int q = 0; q < 4; ++q) {
    std::vector<int32_t> ctx = preamble;
    for (int i = 0; i < 3 + q; ++i) ctx.push_back(static_cast<int32_t>(rng_hash(seed, 2 + q, i) % V));
    for (int c = 0; c < 4; ++c) {
      std::vector<int32_t> cont;
      for (int i = 0; i < 1 + (c + q) % 4; ++i) cont.push_back(static_cast<int32_t>(rng_hash(seed, 10 + q * 4 + c, i) % V));
      out.push_back({ctx, cont});
    }
  }
  out.push_back({{1}, {5, 6, 7}});
  out.push_back({{1}, {5, 9}});
  out.push_back({{3, 4}, {5}});
  // a request whose continuation repeats the argmax chain is greedy: built below from logits
  std::vector<ScoreRequest> shuffled;
  for (size_t i = 0; i < out.size(); ++i) shuffled.push_back(out[(i * 7) % out.size()]);
  return shuffled;
}

static int check_against_reference(Engine& e, const std::vector<ScoreRequest>& reqs, const char* what) {
  int greedy = 0;
  int64_t inputs = 0, computed[2] = {0, 0};
  for (const ScoreRequest& r : reqs) inputs += static_cast<int64_t>(r.context.size() + r.continuation.size()) - 1;
  for (bool share : {true, false}) {
    ScoreOptions o;
    o.share_prefix = share;
    int64_t last = 0;
    o.on_progress = [&](int64_t done, int64_t total) {
      CHECK(done == last + 1 && total == static_cast<int64_t>(reqs.size()));
      last = done;
    };
    auto got = e.score(reqs, o);
    CHECK(got.size() == reqs.size() && last == static_cast<int64_t>(reqs.size()));
    for (const ScoreResult& g : got) computed[share] += g.computed;
    double worst = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      ScoreResult want = reference(e, reqs[i]);
      const double rel = std::fabs(got[i].sum_logprob - want.sum_logprob) / std::max(1e-6, std::fabs(want.sum_logprob));
      worst = std::max(worst, rel);
      CHECK(rel < 1e-5);
      CHECK(got[i].is_greedy == want.is_greedy);
      greedy += got[i].is_greedy;
    }
    std::printf("  %s, share_prefix %d: %zu requests, %lld of %lld input tokens computed, worst relative difference %.2e\n",
                what, share, reqs.size(), static_cast<long long>(computed[share]), static_cast<long long>(inputs), worst);
  }
  CHECK(computed[0] == inputs);             // without sharing every request runs whole
  CHECK(computed[1] < inputs / 2);          // the 24-token preamble and each question's context run once
  return greedy;
}

// A request whose continuation is the model's own greedy chain: is_greedy must be true.
static ScoreRequest greedy_request(Engine& e) {
  GenerateOptions g;
  g.max_new_tokens = 4;
  std::vector<int32_t> ctx = {2, 9, 14};
  return {ctx, e.generate(ctx, g, nullptr)};
}

int main() {
  const std::string dir = tiny::make_temp_dir("score");
  tiny::Spec spec;
  spec.vocab = 96;
  const std::string model = tiny::write_model(dir + "/model", spec);
  try {
    EngineOptions o = test_engine_options();
    o.precision = Precision::FP32True;
    o.training = false;
    auto e = Engine::load(model, o);
    auto reqs = make_requests(spec.vocab, 11);
    reqs.push_back(greedy_request(*e));
    const int greedy = check_against_reference(*e, reqs, "base");
    CHECK(greedy >= 2);  // at least the generated chain, under both settings
    CHECK(e->memory().peak[static_cast<int>(MemCategory::KvCache)] > 0);
    CHECK(e->memory().peak[static_cast<int>(MemCategory::Logits)] > 0);

    // with a trained adapter (B no longer zero), the bf16 path
    EngineOptions t = test_engine_options();
    t.precision = Precision::BF16True;
    t.targets = LoraTargets{true, true, true, true, true, false};
    t.learning_rate = 5e-2f;
    t.warmup_steps = 0;
    auto trained = Engine::load(model, t);
    const ScoreResult before = trained->score({reqs[0]}, ScoreOptions{})[0];
    Batch b = tiny::make_batch(2, 12, spec.vocab, 5);
    for (int s = 0; s < 3; ++s) trained->step({b});
    CHECK(trained->score({reqs[0]}, ScoreOptions{})[0].sum_logprob != before.sum_logprob);
    check_against_reference(*trained, reqs, "bf16 + adapter");

    // abort from the progress callback stops the call; the engine stays usable
    bool aborted = false;
    ScoreOptions ab;
    ab.on_progress = [&](int64_t, int64_t) { e->abort(); };
    try {
      e->score(reqs, ab);
    } catch (const Error& err) {
      aborted = err.code() == "E_ABORTED";
    }
    CHECK(aborted);
    CHECK(e->score({reqs[1]}, ScoreOptions{}).size() == 1);

    // bad requests
    expect_error("E_BATCH", [&] { e->score({{{}, {1}}}, ScoreOptions{}); });
    expect_error("E_BATCH", [&] { e->score({{{1}, {}}}, ScoreOptions{}); });
    expect_error("E_BATCH", [&] { e->score({{{1}, {spec.vocab}}}, ScoreOptions{}); });
    CHECK(e->score({}, ScoreOptions{}).empty());
  } catch (const Error& err) {
    std::fprintf(stderr, "%s [%s] at %s\n", err.what(), err.code().c_str(), err.where().c_str());
    CHECK(false);
  }
  remove_tree(dir);
  return test_summary("test_score");
}
