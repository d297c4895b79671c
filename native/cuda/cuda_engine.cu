// The CUDA Engine: the Engine facade over LlamaCuda (llama_cuda.h) with the CPU engine's training
// semantics: PEFT LoRA init from the same seed (the CPU's own code, model/lora_init.h, uploaded), gradient accumulation over micro-batches
// (dloss = 1 / target tokens of the global batch), the global grad norm reduced on the device and read back once per step with the loss,
// clipping, the LR schedule and AdamW / SGD with the CPU's hyper- parameter structs; PEFT adapters and training state in the CPU engine's
// file formats (a CPU state resumes on CUDA and back). Full finetuning trains fp32 masters of every weight (bf16 copies for the GEMMs).
// Calls are serialised (E_BUSY); abort() stops the call in flight. Refused here: model.precision 32-true / 16-true (the CUDA model computes
// in bf16).
#include "cuda_engine.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "cuda_check.h"
#include "engine_checks.h"
#include "error.h"
#include "io/files.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "llama_cuda.h"
#include "memory.h"
#include "model/llama.h"
#include "model/llama_generate.h"
#include "model/llama_optim.h"
#include "model/llama_score.h"
#include "model/llama_state.h"
#include "model/lora_init.h"

namespace loralab {

namespace {

class CudaEngine final : public Engine {
 public:
  CudaEngine(const std::string& folder, const EngineOptions& options, int device) : opt_(options), device_(device) {
    validate_options();
    cudaDeviceProp prop{};
    LORALAB_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    device_name_ = prop.name;
    sm_ = std::to_string(prop.major) + std::to_string(prop.minor);
    cuda::LlamaCudaOptions mo;
    mo.quantize = opt_.quantize, mo.full = opt_.method == Method::Full, mo.training = opt_.training;
    mo.optimizer = opt_.optimizer;
    mo.seed = opt_.seed, mo.abort = &abort_, mo.checkpointing = opt_.gradient_checkpointing;
    model_ = std::make_unique<cuda::LlamaCuda>(folder, &mem_, device, mo);
    cfg_ = model_->config();  // head_dim resolved
    if (opt_.method == Method::LoRA) model_->install_adapter(init_peft_adapter(cfg_, lora_config_from_options(opt_, cfg_.family), opt_.seed));
  }

  const ModelConfig& config() const override { return cfg_; }
  const EngineOptions& options() const override { return opt_; }
  ParamCounts param_counts() const override {
    return count_parameters(cfg_, opt_.method == Method::LoRA ? &model_->lora_config() : nullptr);
  }
  // "cuda-sm90", or with model.quantize "cuda-sm90+nf4" (codes dequantized to bf16 before each GEMM)
  std::string compute_path() const override {
    QuantType type;
    bool dq = false;
    if (!quant_scheme(opt_.quantize, &type, &dq)) return "cuda-sm" + sm_;
    return "cuda-sm" + sm_ + "+" + quant_type_name(type);
  }
  std::string device_name() const override { return device_name_; }
  int steps_done() const override { return steps_; }
  MemoryReport memory() const override { return mem_.report(); }
  void abort() override { abort_.store(true); }

  std::vector<float> logits(const Batch& batch) override {
    Call call(this);
    model_->forward(pass(batch, false, 0));
    const int64_t N = static_cast<int64_t>(batch.rows) * batch.seq_len;
    std::vector<float> out(static_cast<size_t>(N) * cfg_.vocab_size);
    model_->head_logits(out.data(), 0, N);
    return out;
  }

  std::vector<float> logprobs(const Batch& batch) override {
    Call call(this);
    LORALAB_CHECK(!batch.targets.empty(), "E_BATCH", "logprobs(): the batch needs targets");
    model_->forward(pass(batch, false, 0));
    model_->zero_stats();
    model_->head_loss(0.0f);
    std::vector<float> out = model_->losses();
    for (auto& v : out) v = -v;  // 0 stays 0 where the target is -100
    return out;
  }

  // Greedy / sampled decoding with generate_tokens' semantics (llama_generate.cpp); each token
  // recomputes the forward over the whole sequence (no KV cache on CUDA yet).
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token) override {
    Call call(this);
    LORALAB_CHECK(!prompt.empty(), "E_BATCH", "generate: the prompt is empty");
    LORALAB_CHECK(options.max_new_tokens >= 0, "E_BATCH", "generate: max_new_tokens must be >= 0");
    LORALAB_CHECK(options.top_p > 0.0f && options.top_p <= 1.0f, "E_BATCH",
                  "generate: top_p must be in (0, 1] (got " + std::to_string(options.top_p) + ")");
    const int64_t V = cfg_.vocab_size;
    std::vector<int32_t> out, seq = prompt;
    std::vector<float> logits(V);
    if (options.max_new_tokens > 0) model_->reserve_inference(1, static_cast<int>(prompt.size()) + options.max_new_tokens);
    for (int i = 0; i < options.max_new_tokens; ++i) {
      model_->begin_call();
      cuda::PassInput in;
      in.B = 1, in.T = static_cast<int>(seq.size()), in.tokens = seq.data();
      model_->forward(in);
      model_->head_logits(logits.data(), in.T - 1, 1);
      const int32_t tok = sample_token(logits.data(), V, options, static_cast<uint64_t>(i));
      out.push_back(tok);
      const bool keep_going = on_token ? on_token(tok) : true;
      const bool stop = std::find(options.stop_tokens.begin(), options.stop_tokens.end(), tok) != options.stop_tokens.end();
      if (!keep_going || stop) break;
      seq.push_back(tok);
    }
    return out;
  }

  // Evaluation scoring with llama_score's semantics; each request recomputes its whole sequence
  // (no KV cache on CUDA yet, so share_prefix has no effect here); logits of the continuation rows
  // come back to the host for the fp32 log_softmax summed in double.
  std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, const ScoreOptions& options) override {
    Call call(this);
    check_score_requests(requests, cfg_.vocab_size, cfg_.max_position_embeddings);
    const int64_t V = cfg_.vocab_size;
    std::vector<ScoreResult> out(requests.size());
    int max_len = 1;
    for (const ScoreRequest& r : requests) max_len = std::max<int>(max_len, static_cast<int>(r.context.size() + r.continuation.size()) - 1);
    if (!requests.empty()) model_->reserve_inference(1, max_len);
    std::vector<int32_t> seq;
    std::vector<float> logits;
    for (size_t i = 0; i < requests.size(); ++i) {
      const ScoreRequest& r = requests[i];
      const int64_t nt = static_cast<int64_t>(r.continuation.size());
      seq.assign(r.context.begin(), r.context.end());
      seq.insert(seq.end(), r.continuation.begin(), r.continuation.end() - 1);
      model_->begin_call();
      cuda::PassInput in;
      in.B = 1, in.T = static_cast<int>(seq.size()), in.tokens = seq.data();
      model_->forward(in);
      logits.resize(static_cast<size_t>(nt) * V);
      model_->head_logits(logits.data(), in.T - nt, nt);
      score_rows(logits.data(), r.continuation.data(), nt, V, &out[i].sum_logprob, &out[i].is_greedy);
      out[i].computed = in.T;
      if (options.on_progress) options.on_progress(static_cast<int64_t>(i) + 1, static_cast<int64_t>(requests.size()));
    }
    return out;
  }

  StepResult step(const std::vector<Batch>& micro_batches) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "step(): the engine was created with training: false");
    LORALAB_CHECK(model_->lora_enabled(), "E_ADAPTER_DISABLED", "step(): the adapter is switched off; setAdapterEnabled(true) first");
    const int64_t total = count_target_tokens(micro_batches);
    LORALAB_CHECK(total > 0, "E_BATCH", "step(): the micro-batches hold no target tokens (every target is -100)");
    for (const Batch& mb : micro_batches) check_batch(mb, true);
    model_->zero_grads();
    model_->zero_stats();
    const float dloss = static_cast<float>(1.0 / static_cast<double>(total));
    int64_t example_offset = 0;
    for (const Batch& mb : micro_batches) {
      const int64_t offset = example_offset;
      example_offset += mb.rows;
      if (count_target_tokens({mb}) == 0) continue;
      model_->forward(pass(mb, true, offset));
      model_->head_loss(dloss);
      model_->backward();
    }
    model_->grad_sumsq();
    double loss_sum = 0.0, sumsq = 0.0;
    model_->read_stats(&loss_sum, &sumsq);  // the step's one host synchronisation
    StepResult r;
    r.grad_norm = std::sqrt(sumsq);
    const float clip = clip_scale(opt_, r.grad_norm);
    r.lr = schedule_lr(opt_, steps_);
    if (abort_.load()) LORALAB_THROW("E_ABORTED", "aborted by request");
    if (opt_.optimizer == OptimizerKind::AdamW) model_->adamw_step(adamw_hyper(opt_, steps_, r.lr, clip));
    else model_->sgd_step(sgd_hyper(opt_, steps_, r.lr, clip));
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
    for (const Batch& mb : micro_batches) check_batch(mb, false);
    model_->zero_stats();
    int64_t example_offset = 0;
    for (const Batch& mb : micro_batches) {
      const int64_t offset = example_offset;
      example_offset += mb.rows;
      if (count_target_tokens({mb}) == 0) continue;  // adds nothing to the sum
      model_->forward(pass(mb, false, offset));
      model_->head_loss(0.0f);
    }
    double loss_sum = 0.0;
    model_->read_stats(&loss_sum, nullptr);
    return loss_sum / static_cast<double>(total);
  }

  void save_adapter(const std::string& dir, const std::string& base_model_name_or_path) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "save_adapter(): the engine is in full finetuning (no adapter)");
    PeftAdapter a = model_->adapter(false);
    a.config.base_model_name_or_path = base_model_name_or_path;
    std::vector<PeftLoraView> views;
    for (const PeftLoraPair& p : a.pairs)
      views.push_back(PeftLoraView{p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
    save_peft_adapter(dir, a.config, views);
  }

  // As LlamaModel::install_adapter: fresh PEFT init for the adapter's targets (this engine's seed),
  // then its tensors copied in; optimizer moments restart at zero.
  void load_adapter(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "load_adapter(): the engine is in full finetuning");
    PeftAdapter src = load_peft_adapter(dir);
    check_adapter_fits(src, cfg_);
    PeftAdapterConfig lcfg = src.config;
    lcfg.family = cfg_.family;  // as the CPU's install_adapter: the same module paths under this model's names
    PeftAdapter dst = init_peft_adapter(cfg_, lcfg, opt_.seed);
    for (const PeftLoraPair& s : src.pairs) {
      auto it = std::find_if(dst.pairs.begin(), dst.pairs.end(),
                             [&](const PeftLoraPair& d) { return d.module == s.module && d.layer == s.layer; });
      LORALAB_CHECK(it != dst.pairs.end(), "E_ADAPTER_MISMATCH",
                    std::string("adapter tensor for ") + peft_module_path(s.module, s.layer, cfg_.family) +
                        " is not among the adapter's target_modules");
      LORALAB_CHECK(s.A.size() == it->A.size() && s.B.size() == it->B.size(), "E_ADAPTER_MISMATCH",
                    "adapter tensor " + peft_tensor_key(s.module, s.layer, 'A', cfg_.family) + " has the wrong size for this model");
      it->A = s.A, it->B = s.B;
    }
    model_->install_adapter(dst);
  }

  void set_adapter_enabled(bool enabled) override {
    Call call(this);
    LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "set_adapter_enabled(): the engine is in full finetuning (no adapter)");
    model_->set_lora_enabled(enabled);
  }

  // llama_state.cpp's format: "param/<key>", "exp_avg/<key>", "exp_avg_sq/<key>" (AdamW) or
  // "momentum_buffer/<key>" (SGD) with PEFT keys, and the same metadata.
  void save_state(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "save_state(): the engine was created with training: false");
    make_directories(dir);
    std::vector<std::vector<float>> host;  // keeps the downloaded tensors alive for the writer
    std::vector<TensorToWrite> tensors;
    host.reserve(state_tensors().size());
    for (StateTensor& t : state_tensors()) {
      host.push_back(model_->download(*t.buf));
      tensors.push_back({t.name, DType::F32, t.shape, host.back().data()});
    }
    const auto meta = train_state_metadata(opt_, TrainState{steps_, opt_.seed}, model_->lora_config().r,
                                           model_->lora_scale());
    write_safetensors(path_join(dir, "state.safetensors"), tensors, meta);
  }

  void load_state(const std::string& dir) override {
    Call call(this);
    LORALAB_CHECK(opt_.training, "E_NOT_TRAINING", "load_state(): the engine was created with training: false");
    TrainStateFile st = open_train_state(dir, opt_);
    const std::string& path = st.path;
    SafetensorsFile* file = st.file.get();
    const std::vector<StateTensor> wanted = state_tensors();
    for (const StateTensor& t : wanted) {  // check everything before changing anything
      LORALAB_CHECK(file->has(t.name), "E_STATE_MISMATCH", path + ": tensor '" + t.name + "' is missing");
      const TensorView& v = file->get(t.name);
      LORALAB_CHECK(v.shape == t.shape && v.dtype == DType::F32, "E_STATE_MISMATCH",
                    path + ": tensor '" + t.name + "' has another shape or dtype than the model's");
    }
    for (const StateTensor& t : wanted) {
      const TensorView& v = file->get(t.name);
      model_->upload_f32(*t.buf, reinterpret_cast<const float*>(v.data), v.nbytes / 4);
    }
    model_->refresh_copies();  // full finetuning: the bf16 weights from the loaded masters
    steps_ = static_cast<int>(st.state.step);
    opt_.seed = st.state.seed;
    model_->set_seed(opt_.seed);
  }

 private:
  struct Call {  // serialises calls (a second one is refused), resets the abort flag, waits for the stream
    explicit Call(CudaEngine* e) : engine(e) {
      LORALAB_CHECK(!e->busy_.exchange(true), "E_BUSY",
                    "the engine is busy with another call (step, eval, logits or generate)");
      e->abort_.store(false);
      try {
        e->model_->begin_call();
      } catch (...) {
        e->busy_.store(false);
        throw;
      }
    }
    ~Call() { engine->busy_.store(false); }
    CudaEngine* engine;
  };

  struct StateTensor {
    std::string name;
    std::vector<int64_t> shape;
    cuda::DeviceBuffer<float>* buf;
  };
  // The training state's tensors in the CPU's order: per pair A then B (LoRA) or per weight (full),
  // each param then its moments.
  std::vector<StateTensor> state_tensors() {
    const bool adamw = opt_.optimizer == OptimizerKind::AdamW;
    const std::string m1 = first_moment_prefix(opt_.optimizer), m2 = second_moment_prefix(opt_.optimizer);
    const int64_t R = model_->lora_config().r;
    std::vector<StateTensor> out;
    for (cuda::FullParam* p : model_->full_params()) {
      out.push_back({"param/" + p->name, p->shape, &p->w});
      out.push_back({m1 + p->name, p->shape, &p->m});
      if (adamw) out.push_back({m2 + p->name, p->shape, &p->v});
    }
    for (cuda::LoraCuda* p : model_->lora_pairs())
      for (char which : {'A', 'B'}) {
        const std::string key = peft_tensor_key(p->module, p->layer, which, cfg_.family);  // the CPU's state keys
        const std::vector<int64_t> shape = which == 'A' ? std::vector<int64_t>{R, p->in} : std::vector<int64_t>{p->out, R};
        out.push_back({"param/" + key, shape, which == 'A' ? &p->A : &p->B});
        out.push_back({m1 + key, shape, which == 'A' ? &p->mA : &p->mB});
        if (adamw) out.push_back({m2 + key, shape, which == 'A' ? &p->vA : &p->vB});
      }
    return out;
  }

  void validate_options() {
    check_common_options(opt_);
    const std::string where = "device '" + opt_.device + "': ";
    if (opt_.precision == Precision::FP32True || opt_.precision == Precision::FP16True)
      LORALAB_THROW("E_PRECISION_UNSUPPORTED",
                    where + "model.precision '" + (opt_.precision == Precision::FP32True ? "32-true" : "16-true") +
                        "' is not implemented on CUDA (it computes in bf16); use model.precision bf16-true or "
                        "bf16-mixed, or device: cpu");
    if (opt_.training && is_8bit(opt_.optimizer))
      LORALAB_THROW("E_OPTIMIZER_UNSUPPORTED", where + "train.optimizer '" + optimizer_name(opt_.optimizer) +
                                                   "' (8-bit moments) is not implemented on CUDA yet; use train.optimizer '" +
                                                   (is_adamw(opt_.optimizer) ? "adamw" : "sgd") + "' or device: cpu");
    if (opt_.training && opt_.state_precision == StatePrecision::BF16)
      LORALAB_THROW("E_OPTIMIZER_UNSUPPORTED", where +
                                                   "train.state_precision 'bf16' is not implemented on CUDA yet; use "
                                                   "train.state_precision 'fp32' or device: cpu");
  }

  cuda::PassInput pass(const Batch& b, bool training, int64_t example_offset) {
    check_batch(b, training);
    ids_.resize(b.rows);
    for (int r = 0; r < b.rows; ++r) ids_[r] = b.example_ids.empty() ? example_offset + r : b.example_ids[r];
    cuda::PassInput in;
    in.B = b.rows, in.T = b.seq_len;
    in.tokens = b.tokens.data();
    in.targets = b.targets.empty() ? nullptr : b.targets.data();
    in.lengths = b.lengths.empty() ? nullptr : b.lengths.data();
    in.example_ids = ids_.data();
    in.training = training;
    in.step = static_cast<uint64_t>(steps_);
    return in;
  }

  ModelConfig cfg_;
  EngineOptions opt_;
  int device_ = 0;
  MemTracker mem_;  // before model_: the allocator reports into it until the model is gone
  std::atomic<bool> abort_{false};
  std::atomic<bool> busy_{false};
  std::unique_ptr<cuda::LlamaCuda> model_;
  std::vector<int64_t> ids_;
  std::string device_name_, sm_;
  int steps_ = 0;
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const std::string& folder, const EngineOptions& options, int device) {
  const std::string name = "device '" + options.device + "'";
  int driver = 0;
  cudaDriverGetVersion(&driver);
  cudaGetLastError();
  if (driver == 0)
    LORALAB_THROW("E_NO_CUDA", name + ": no NVIDIA driver is installed (libcuda could not be loaded), so no CUDA "
                                   "device can be used; use device: cpu");
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    LORALAB_THROW("E_NO_CUDA", name + ": no usable CUDA device (cudaGetDeviceCount: " + cudaGetErrorString(err) +
                                   "); use device: cpu");
  }
  if (count == 0) LORALAB_THROW("E_NO_CUDA", name + ": the NVIDIA driver reports no CUDA device; use device: cpu");
  if (device >= count)
    LORALAB_THROW("E_NO_CUDA", name + ": this machine has " + std::to_string(count) + " CUDA device(s) (cuda:0 .. cuda:" +
                                   std::to_string(count - 1) + "); pick one of them or use device: cpu");
  return std::make_unique<CudaEngine>(folder, options, device);
}

}  // namespace loralab
