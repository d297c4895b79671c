// ctest: the train -> save adapter -> merge flow through the Engine. For every reference fixture:
// the merged folder, loaded as a plain checkpoint, gives the logits of base + adapter (fp32: within
// the logit tolerance; bf16: equal to the reference's logits of the bf16-rounded merged weights)
// and the adapter's greedy continuation; an adapter saved by the engine merges to the same bytes.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "reference_fixture.h"
#include "test_options.h"
#include "test_util.h"

using namespace loralab;

namespace {

EngineOptions options_for(const reference::Fixture& fx) {
  EngineOptions o = test_engine_options();
  o.precision = fx.golden.find("dtype")->as_string() == "float32" ? Precision::FP32True : Precision::BF16True;
  o.method = Method::LoRA;
  o.targets = LoraTargets{true, true, true, true, true, true};
  o.training = false;
  o.threads = 1;
  o.device = "cpu";
  return o;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

void check_fixture(const std::string& name, const std::string& tmp) {
  reference::Fixture fx = reference::load_fixture(name);
  const bool fp32 = fx.golden.find("dtype")->as_string() == "float32";
  const Batch batch = fx.batch();
  const double tol_rel = fx.golden.find("tolerances")->find("logits_max_abs_rel")->as_number();

  auto adapted = Engine::load(fx.dir, options_for(fx));
  adapted->load_adapter(fx.adapter_dir);
  std::vector<float> with_adapter = adapted->logits(batch);  // (B, T, V)
  const size_t vocab = with_adapter.size() / static_cast<size_t>(batch.rows * batch.seq_len);
  const std::vector<bool> valid = reference::valid_logit_mask(batch, vocab);

  const std::string merged_dir = path_join(tmp, "merged-" + name);
  merge_adapter(fx.dir, fx.adapter_dir, merged_dir);
  auto merged = Engine::load(merged_dir, options_for(fx));  // a fresh (no-op) adapter on the merged weights
  std::vector<float> from_merged = merged->logits(batch);
  CHECK(from_merged.size() == with_adapter.size());
  const double tol = tol_rel * std::max(1.0, max_abs(with_adapter));
  if (fp32) {
    CHECK(reference::check_tensor((name + " merged vs base+adapter").c_str(), from_merged.data(),
                                  with_adapter.data(), with_adapter.size(), tol, &valid));
    // Greedy decoding of the merged model continues the prompt like base + adapter did in the reference.
    std::vector<int32_t> ids =
        merged->generate(fx.ids("prompt"), GenerateOptions{static_cast<int>(fx.ids("greedy_lora").size())},
                         [](int32_t) { return true; });
    CHECK(ids == fx.ids("greedy_lora"));
  } else {
    // bf16: the merged weights are rounded to bf16, so compare with the reference's merged-model logits.
    std::vector<float> want = fx.tensor("logits_merged");
    CHECK(reference::check_tensor((name + " merged vs reference merged").c_str(), from_merged.data(), want.data(),
                                  want.size(), tol, &valid));
  }

  // The engine's own save_adapter output merges to the very same files.
  const std::string saved = path_join(tmp, "saved-" + name);
  adapted->save_adapter(saved, fx.dir);
  const std::string merged2 = path_join(tmp, "merged2-" + name);
  merge_adapter(fx.dir, saved, merged2);
  CHECK(read_text_file(path_join(merged2, "model.safetensors")) ==
        read_text_file(path_join(merged_dir, "model.safetensors")));
}

}  // namespace

int main() {
  const std::string tmp = make_temp_dir("merge");
  for (const auto& name : reference::case_names()) {
    try {
      check_fixture(name, tmp);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s (%s)\n", name.c_str(), e.what(), e.code().c_str());
      CHECK(!"unexpected engine error");
    }
  }
  remove_tree(tmp);
  return test_summary("test_merge_engine");
}
