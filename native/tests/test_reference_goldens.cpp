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
#include "test_util.h"

using namespace loralab;

namespace {

const char* kCases[] = {"llama_gqa_llama3_f32", "llama_gqa_llama3_bf16", "llama_tied_linear_f32",
                        "mistral_f32",          "qwen2_bias_f32",        "qwen2_bias_tied_bf16"};

std::vector<float> read_f32(const SafetensorsFile& f, const std::string& name) {
  const TensorView& v = f.get(name);
  std::vector<float> out(static_cast<size_t>(v.numel()));
  tensor_to_f32(v, out.data());
  return out;
}

// Recomputes log p(target) and the mean loss from the stored logits in double precision.
void check_case(const std::string& dir) {
  JsonValue golden = read_json_file(path_join(dir, "golden.json"));
  auto file = SafetensorsFile::open(path_join(dir, "golden.safetensors"));
  auto ckpt = CheckpointReader::open(dir);
  CHECK(ckpt->has("model.embed_tokens.weight"));
  const JsonValue& batch = *golden.find("batch");
  const int rows = static_cast<int>(batch.find("rows")->as_int());
  const int seq = static_cast<int>(batch.find("seq_len")->as_int());
  for (const char* which : {"", "_lora"}) {
    std::vector<float> logits = read_f32(*file, std::string("logits") + which);      // (B, T, V)
    std::vector<float> logprobs = read_f32(*file, std::string("logprobs") + which);  // (B, T)
    const size_t vocab = logits.size() / static_cast<size_t>(rows * seq);
    double sum = 0, worst = 0;
    int count = 0;
    for (int b = 0; b < rows; ++b)
      for (int t = 0; t < seq; ++t) {
        int target = static_cast<int>(batch.find("targets")->items()[b].items()[t].as_int());
        const float* row = &logits[(static_cast<size_t>(b) * seq + t) * vocab];
        double mx = row[0], z = 0;
        for (size_t v = 0; v < vocab; ++v) mx = std::fmax(mx, row[v]);
        for (size_t v = 0; v < vocab; ++v) z += std::exp(row[v] - mx);
        double lp = target < 0 ? 0.0 : row[target] - mx - std::log(z);
        worst = std::fmax(worst, std::fabs(lp - logprobs[static_cast<size_t>(b) * seq + t]));
        if (target >= 0) {
          sum -= lp;
          ++count;
        }
      }
    CHECK(worst < 1e-4);
    CHECK(count == golden.find("target_tokens")->as_int());
    CHECK_NEAR(sum / count, golden.find(std::string("loss") + (*which ? "_lora" : "_base"))->as_number(), 1e-4);
  }
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
    CHECK(finals->has(kv.first + (lora ? ".base_model.model.lm_head.lora_B.weight" : ".model.norm.weight")));
    ++runs;
  }
  CHECK(runs == 3);
}

}  // namespace

int main() {
  const std::string root = "test/reference/fixtures";
  for (const char* c : kCases) check_case(path_join(root, c));
  check_training(path_join(root, "llama_gqa_llama3_f32"));
  check_training(path_join(root, "qwen2_bias_tied_bf16"));
  // The independent recomputation needs torch; without it the committed goldens stand.
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0) {
    int rc = std::system("/usr/bin/python3 test/reference/make_fixtures.py --check");
    CHECK(rc == 0);
  } else {
    std::printf("python3-torch not installed: reference recomputation skipped, committed goldens used\n");
  }
  return test_summary("test_reference_goldens");
}
