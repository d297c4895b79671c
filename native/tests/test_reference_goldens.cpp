// ctest: the committed reference fixtures are readable by the engine's I/O and self-consistent
// (logprobs = log_softmax(logits) at the targets, mean loss), and, where Debian's python3-torch is
// installed, the PyTorch reference recomputes the same goldens (test/reference/make_fixtures.py --check).
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/files.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/family.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace loralab;

namespace {

// Recomputes log p(target) and the mean loss from the stored logits in double precision, through
// the reference_fixture.h helpers the engine's tests use.
void check_case(const std::string& name) {
  reference::Fixture fx = reference::load_fixture(name);
  auto ckpt = CheckpointReader::open(fx.dir);
  CHECK(ckpt->has(embed_tensor_name(load_model_config(fx.dir).family)));
  const Batch batch = fx.batch();
  CHECK(batch.rows == 2 && batch.seq_len == 8 && batch.lengths[1] == 5 && batch.targets[0] == -100);
  for (const char* which : {"", "_lora"}) {
    std::vector<float> logits = fx.tensor(std::string("logits") + which);      // (B, T, V)
    std::vector<float> logprobs = fx.tensor(std::string("logprobs") + which);  // (B, T)
    const size_t vocab = logits.size() / static_cast<size_t>(batch.rows * batch.seq_len);
    std::vector<float> recomputed(logprobs.size());
    double sum = 0;
    int count = 0;
    for (size_t i = 0; i < logprobs.size(); ++i) {
      const int target = batch.targets[i];
      const float* row = &logits[i * vocab];
      double mx = row[0], z = 0;
      for (size_t v = 0; v < vocab; ++v) mx = std::fmax(mx, row[v]);
      for (size_t v = 0; v < vocab; ++v) z += std::exp(row[v] - mx);
      const double lp = target < 0 ? 0.0 : row[target] - mx - std::log(z);
      recomputed[i] = static_cast<float>(lp);
      if (target >= 0) {
        sum -= lp;
        ++count;
      }
    }
    CHECK(reference::check_tensor((name + " logprobs" + which).c_str(), recomputed.data(), logprobs.data(),
                                  logprobs.size(), 1e-4));
    CHECK(count == fx.golden.find("target_tokens")->as_int());
    CHECK_NEAR(sum / count, fx.number(std::string("loss") + (*which ? "_lora" : "_base")), 1e-4);
  }
  // The helper's check_tensor must fail on a real difference and honour the validity mask.
  std::vector<float> logits = fx.tensor("logits"), shifted = logits;
  const size_t last = logits.size() - 1;  // a padding position of row 1
  shifted[last] += 1.0f;
  CHECK(!reference::check_tensor("perturbed (expected FAIL)", shifted.data(), logits.data(), logits.size(), 1e-3));
  std::vector<bool> mask = reference::valid_logit_mask(batch, logits.size() / static_cast<size_t>(batch.rows * batch.seq_len));
  CHECK(!mask[last] && mask[0]);
  CHECK(reference::check_tensor("perturbed padding, masked", shifted.data(), logits.data(), logits.size(), 1e-3, &mask));
  CHECK(fx.ids("greedy").size() == 10 && fx.ids("prompt").size() == 5);
}

// The reference training runs start where the single-batch goldens are: the first LoRA loss is
// loss_lora, the first full-finetuning loss is loss_base; the lr sequence follows the options.
void check_training(const std::string& dir) {
  JsonValue golden = read_json_file(path_join(dir, "golden.json"));
  JsonValue train = read_json_file(path_join(dir, "train_golden.json"));
  auto finals = SafetensorsFile::open(path_join(dir, "train_golden.safetensors"));
  int runs = 0;
  for (const auto& kv : train.find("runs")->members()) {
    const JsonValue& run = kv.second;
    const JsonValue& o = *run.find("options");
    const bool lora = o.find("method")->as_string() == "lora";
    const auto& losses = run.find("losses")->items();
    const auto& lrs = run.find("lrs")->items();
    CHECK(static_cast<int64_t>(losses.size()) == run.find("steps")->as_int());
    CHECK_NEAR(losses[0].as_number(), golden.find(lora ? "loss_lora" : "loss_base")->as_number(), 1e-9);
    CHECK(losses.back().as_number() < 0.6 * losses[0].as_number());  // the runs really train
    const int warmup = static_cast<int>(o.find("warmup_steps")->as_int());
    const double peak = o.find("learning_rate")->as_number();
    if (warmup > 0) CHECK_NEAR(lrs[0].as_number(), peak / warmup, 1e-15);
    if (o.find("lr_schedule")->as_string() == "constant") CHECK_NEAR(lrs.back().as_number(), peak, 1e-15);
    const std::string final_norm = final_norm_name(load_model_config(dir).family) + ".weight";
    CHECK(finals->has(kv.first + (lora ? ".base_model.model.lm_head.lora_B.weight" : "." + final_norm)));
    ++runs;
  }
  CHECK(runs == 3);
}

}  // namespace

int main() {
  const std::string root = "test/reference/fixtures";
  for (const auto& c : reference::case_names()) check_case(c);
  for (const auto& c : reference::training_case_names()) check_training(path_join(root, c));
  // The independent recomputation needs torch; without it the committed goldens stand.
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0) {
    int rc = std::system("/usr/bin/python3 test/reference/make_fixtures.py --check");
    CHECK(rc == 0);
  } else {
    std::printf("python3-torch not installed: reference recomputation skipped, committed goldens used\n");
  }
  return test_summary("test_reference_goldens");
}
