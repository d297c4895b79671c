// The CPU Engine: loads a Hugging Face folder into a LlamaModel, validates batches, and runs
// logits / logprobs / generate / step / eval with one thread pool and one memory tracker. With
// model.quantize (QLoRA) the block linears are NF4/FP4 codes (see LlamaModel::make_linear).
// Calls are serialised (a concurrent call is refused with E_BUSY); abort() stops the call in flight.
// Engine::load (engine_dispatch.cpp, above this file and the CUDA engine) creates it for device cpu.
#include <memory>
#include <string>

#include "cpu_engine.h"
#include "device.h"
#include "engine_checks.h"
#include "error.h"
#include "io/safetensors.h"
#include "memory.h"
#include "model/llama.h"
#include "model/llama_generate.h"
#include "model/llama_optim.h"
#include "model/llama_score.h"
#include "model/llama_state.h"
#include "ops/cross_entropy.h"
#include "ops/matmul.h"
#include "quant/quant.h"
#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

namespace {

class CpuEngine final : public Engine {
 public:
  CpuEngine(const std::string& folder, const EngineOptions& options) : opt_(options) {
    validate_options();
    cfg_ = load_model_config(folder);
    auto checkpoint = CheckpointReader::open(folder);
    pool_ = std::make_unique<ThreadPool>(opt_.threads);
    FlushDenormalsScope ftz;
    model_ = std::make_unique<LlamaModel>(cfg_, opt_, *checkpoint, &mem_, pool_.get(), &abort_);
    cfg_ = model_->config();  // head_dim resolved
    device_name_ = detect_cpu().model;
  }

  const ModelConfig& config() const override { return cfg_; }
  const EngineOptions& options() const override { return opt_; }
  ParamCounts param_counts() const override { return model_->param_counts(); }
  // "cpu-avx512", or with model.quantize "cpu-avx512+nf4-avx512" (the 4-bit kernels' instruction set)
  std::string compute_path() const override {
    QuantType type;
    bool dq = false;
    const std::string path = simd_path_name(simd_path());  // the GEMMs' and the 4-bit kernels' path
    if (!quant_scheme(opt_.quantize, &type, &dq)) return "cpu-" + path;
    return "cpu-" + path + "+" + quant_type_name(type) + "-" + path;
  }
  std::string device_name() const override { return device_name_; }
  int steps_done() const override { return steps_; }
  MemoryReport memory() const override { return mem_.report(); }
  void abort() override { abort_.store(true); }

  std::vector<float> logits(const Batch& batch) override {
    Call call(this);
    PassContext ctx = context(batch, false, 0);
    model_->forward(ctx);
    const int64_t N = static_cast<int64_t>(batch.rows) * batch.seq_len;
    std::vector<float> out(static_cast<size_t>(N) * cfg_.vocab_size);
    model_->head_logits(ctx, out.data(), 0, N);
    return out;
  }

  std::vector<float> logprobs(const Batch& batch) override {
    Call call(this);
    LORALAB_CHECK(!batch.targets.empty(), "E_BATCH", "logprobs(): the batch needs targets");
    PassContext ctx = context(batch, false, 0);
    model_->forward(ctx);
    std::vector<float> out(static_cast<size_t>(batch.rows) * batch.seq_len);
    model_->head_loss(ctx, batch.targets.data(), 0.0f, out.data());
    for (auto& v : out) v = -v;  // 0 stays 0 where the target is -100
    return out;
  }

  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token) override {
    Call call(this);
    return generate_tokens(*model_, prompt, options, on_token);
  }

  std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, const ScoreOptions& options) override {
    Call call(this);
    check_score_requests(requests, cfg_.vocab_size, cfg_.max_position_embeddings);
    return score_cached(*model_, requests, options, &mem_);
  }

  StepResult step(const std::vector<Batch>& micro_batches) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "step(): the engine was created with training: false");
    LORALAB_CHECK(model_->lora_enabled(), "E_ADAPTER_DISABLED", "step(): the adapter is switched off; setAdapterEnabled(true) first");
    const int64_t total = count_target_tokens(micro_batches);
    LORALAB_CHECK(total > 0, "E_BATCH", "step(): the micro-batches hold no target tokens (every target is -100)");
    auto& params = model_->trainable();
    for (Param* p : params) p->grad.zero(), p->grad16.zero();
    const float dloss = static_cast<float>(1.0 / static_cast<double>(total));
    double loss_sum = 0.0;
    int64_t example_offset = 0;
    for (const Batch& mb : micro_batches) {
      PassContext ctx = context(mb, true, example_offset);
      example_offset += mb.rows;
      if (count_target_tokens({mb}) == 0) continue;
      model_->forward(ctx);
      loss_sum += model_->head_loss(ctx, mb.targets.data(), dloss, nullptr);
      model_->backward(ctx);
    }
    StepResult r;
    r.grad_norm = global_grad_norm(pool_.get(), params);
    const float clip = clip_scale(opt_, r.grad_norm);
    r.lr = schedule_lr(opt_, steps_);
    model_->check_abort();
    optimizer_update(pool_.get(), opt_, params, steps_, r.lr, clip);
    ++steps_;
    r.loss = loss_sum / static_cast<double>(total);
    r.tokens = total;
    r.step = steps_;
    return r;
  }

  double eval_loss(const std::vector<Batch>& micro_batches) override {
    Call call(this);
    const int64_t total = count_target_tokens(micro_batches);
    LORALAB_CHECK(total > 0, "E_BATCH", "eval_loss(): the micro-batches hold no target tokens");
    double loss_sum = 0.0;
    int64_t example_offset = 0;
    for (const Batch& mb : micro_batches) {
      PassContext ctx = context(mb, false, example_offset);
      example_offset += mb.rows;
      model_->forward(ctx);
      loss_sum += model_->head_loss(ctx, mb.targets.data(), 0.0f, nullptr);
    }
    return loss_sum / static_cast<double>(total);
  }

  void save_adapter(const std::string& dir, const std::string& base_model_name_or_path) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "save_adapter(): the engine is in full finetuning (no adapter)");
    PeftAdapterConfig pc = model_->lora_config();
    pc.base_model_name_or_path = base_model_name_or_path;
    std::vector<PeftLoraView> views;
    std::vector<std::vector<float>> widened;  // bf16 masters as fp32 (PEFT adapters are saved in fp32)
    for (LoraPair* p : model_->lora_pairs()) {
      const float *A = p->A.f32(), *B = p->B.f32();
      if (p->A.dtype != DType::F32) {
        widened.emplace_back(static_cast<size_t>(p->A.numel()));
        param_values_f32(p->A, widened.back().data());
        A = widened.back().data();
        widened.emplace_back(static_cast<size_t>(p->B.numel()));
        param_values_f32(p->B, widened.back().data());
        B = widened.back().data();
      }
      views.push_back(PeftLoraView{p->module, p->layer, p->in, p->out, A, B});
    }
    save_peft_adapter(dir, pc, views);
  }

  void load_adapter(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "load_adapter(): the engine is in full finetuning");
    model_->install_adapter(load_peft_adapter(dir));
  }

  void set_adapter_enabled(bool enabled) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "set_adapter_enabled(): the engine is in full finetuning (no adapter)");
    model_->set_lora_enabled(enabled);
  }

  void save_state(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "save_state(): the engine was created with training: false");
    save_train_state(dir, *model_, opt_, TrainState{steps_, opt_.seed});
  }

  void load_state(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "load_state(): the engine was created with training: false");
    TrainState st = load_train_state(dir, *model_, opt_);
    steps_ = static_cast<int>(st.step);
    opt_.seed = st.seed;
    model_->set_seed(st.seed);
  }

 private:
  // Serialises calls (a second call, from any thread, is refused), resets the abort flag, and sets
  // FTZ/DAZ on the calling thread.
  struct Call {  // one call at a time; its GEMMs use the engine's scratch, whichever thread runs it
    explicit Call(CpuEngine* e) : engine(e), scratch(&e->gemm_scratch_) {
      LORALAB_CHECK(!e->busy_.exchange(true), "E_BUSY",
                    "the engine is busy with another call (step, eval, logits or generate)");
      e->abort_.store(false);
    }
    ~Call() { engine->busy_.store(false); }
    CpuEngine* engine;
    FlushDenormalsScope ftz;
    GemmScratchScope scratch;
  };

  void validate_options() {
    check_common_options(opt_);
    if (opt_.precision == Precision::FP16True)
      LORALAB_THROW("E_PRECISION_UNSUPPORTED",
                    "model.precision '16-true' (fp16 compute) is not implemented on either engine; use bf16-true or 32-true on CPU, "
                    "bf16-true on CUDA");
    LORALAB_CHECK(opt_.device.empty() || opt_.device == "cpu" || opt_.device == "auto", "E_INTERNAL",
                  "device '" + opt_.device + "' reached the CPU engine (Engine::load dispatches CUDA devices)");
  }

  PassContext context(const Batch& b, bool training, int64_t example_offset) {
    check_batch(b, training);
    PassContext ctx;
    ctx.B = b.rows;
    ctx.T = b.seq_len;
    ctx.tokens = b.tokens.data();
    ctx.lengths = b.lengths.empty() ? nullptr : b.lengths.data();
    ids_.resize(b.rows);
    for (int r = 0; r < b.rows; ++r) ids_[r] = b.example_ids.empty() ? example_offset + r : b.example_ids[r];
    ctx.example_ids = ids_.data();
    ctx.training = training;
    ctx.step = static_cast<uint64_t>(steps_);
    return ctx;
  }

  ModelConfig cfg_;
  EngineOptions opt_;
  MemTracker mem_;
  std::unique_ptr<ThreadPool> pool_;
  GemmScratch gemm_scratch_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> busy_{false};
  std::unique_ptr<LlamaModel> model_;
  std::vector<int64_t> ids_;
  std::string device_name_;
  int steps_ = 0;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const std::string& folder, const EngineOptions& options) {
  return std::make_unique<CpuEngine>(folder, options);
}

}  // namespace loralab
