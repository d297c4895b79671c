// N-API class `Engine`: one loaded model with its adapter, optimizer and memory accounting.
// Every long call runs in a PromiseWorker; one call at a time (a second is refused with E_BUSY);
// dispose() is refused during a call and safe to call twice; results are copied into JS buffers.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include "convert.h"
#include "engine.h"
#include "js_error.h"
#include "promise_worker.h"

namespace loralab_binding {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("config", &EngineWrap::Config), InstanceMethod("paramCounts", &EngineWrap::ParamCounts),
                        InstanceMethod("computePath", &EngineWrap::ComputePath), InstanceMethod("deviceName", &EngineWrap::DeviceName),
                        InstanceMethod("logprobs", &EngineWrap::Logprobs), InstanceMethod("logits", &EngineWrap::Logits),
                        InstanceMethod("generate", &EngineWrap::Generate), InstanceMethod("score", &EngineWrap::Score),
                        InstanceMethod("step", &EngineWrap::Step),
                        InstanceMethod("evalLoss", &EngineWrap::EvalLoss), InstanceMethod("saveAdapter", &EngineWrap::SaveAdapter),
                        InstanceMethod("loadAdapter", &EngineWrap::LoadAdapter), InstanceMethod("saveState", &EngineWrap::SaveState),
                        InstanceMethod("setAdapterEnabled", &EngineWrap::SetAdapterEnabled),
                        InstanceMethod("loadState", &EngineWrap::LoadState), InstanceMethod("stepsDone", &EngineWrap::StepsDone),
                        InstanceMethod("memory", &EngineWrap::Memory), InstanceMethod("abort", &EngineWrap::Abort),
                        InstanceMethod("dispose", &EngineWrap::Dispose)});
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    // Constructed only by loadEngine() with an External holding the loaded engine.
    if (info.Length() != 1 || !info[0].IsExternal())
      throw make_js_error(info.Env(), "E_INVALID_ARGUMENT", "Engine cannot be constructed directly: use loadEngine(folder, options)");
    auto* holder = info[0].As<Napi::External<std::unique_ptr<loralab::Engine>>>().Data();
    engine_ = std::shared_ptr<loralab::Engine>(std::move(*holder));
    delete holder;
  }

 private:
  std::shared_ptr<loralab::Engine> engine_;
  std::atomic<bool> busy_{false};

  loralab::Engine& live(Napi::Env env) {
    if (!engine_) throw make_js_error(env, "E_DISPOSED", "this Engine was disposed; load the model again");
    return *engine_;
  }

  // Claims the engine for one asynchronous call; released when the promise settles.
  std::shared_ptr<loralab::Engine> claim(Napi::Env env, const char* what) {
    live(env);
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true))
      throw make_js_error(env, "E_BUSY", std::string("Engine.") + what + "() was called while another call is in flight; await it first");
    return engine_;
  }

  template <typename Fn>
  static auto guarded(Napi::Env env, Fn fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const loralab::Error& e) {
      throw make_js_error(env, e);
    }
  }

  Napi::Promise run_async(Napi::Env env, PromiseWorker::ExecuteFn execute, PromiseWorker::ResolveFn resolve) {
    Napi::Reference<Napi::Object>* self = new Napi::Reference<Napi::Object>(Napi::Persistent(Value()));
    return PromiseWorker::Queue(env, std::move(execute), std::move(resolve), [this, self]() {
      busy_ = false;
      delete self;  // keeps `this` alive until the call settles
    });
  }

  Napi::Value Config(const Napi::CallbackInfo& info) { return config_to_js(info.Env(), live(info.Env()).config()); }
  Napi::Value ParamCounts(const Napi::CallbackInfo& info) { return param_counts_to_js(info.Env(), live(info.Env()).param_counts()); }
  Napi::Value ComputePath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), live(info.Env()).compute_path()); }
  Napi::Value DeviceName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), live(info.Env()).device_name()); }
  Napi::Value StepsDone(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env()).steps_done()); }
  Napi::Value Memory(const Napi::CallbackInfo& info) { return memory_to_js(info.Env(), live(info.Env()).memory()); }

  // Synchronous (a flag read by the next forward); refused while a call is in flight.
  Napi::Value SetAdapterEnabled(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsBoolean())
      throw make_js_error(env, "E_INVALID_ARGUMENT", "setAdapterEnabled(enabled) expects a boolean");
    loralab::Engine& engine = live(env);
    if (busy_) throw make_js_error(env, "E_BUSY", "Engine.setAdapterEnabled() was called while a call is in flight; await it first");
    guarded(env, [&] { engine.set_adapter_enabled(info[0].As<Napi::Boolean>().Value()); });
    return env.Undefined();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (engine_) engine_->abort();
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_)
      throw make_js_error(info.Env(), "E_BUSY", "Engine.dispose() was called while a call is in flight; abort() and await it first");
    engine_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Logprobs(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return BatchCall(info, "logprobs", false); }); }
  Napi::Value Logits(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return BatchCall(info, "logits", true); }); }

  Napi::Value BatchCall(const Napi::CallbackInfo& info, const char* what, bool full_logits) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw make_js_error(env, "E_INVALID_ARGUMENT", std::string("Expected a batch for ") + what + "()");
    auto batch = guarded(env, [&] { return batch_from_js(info[0].As<Napi::Object>()); });
    auto engine = claim(env, what);
    auto result = std::make_shared<std::vector<float>>();
    return run_async(
        env, [engine, batch, result, full_logits]() { *result = full_logits ? engine->logits(batch) : engine->logprobs(batch); },
        [result](Napi::Env e) { return float_array(e, *result); });
  }

  Napi::Value Step(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return StepImpl(info); }); }
  Napi::Value StepImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto batches = guarded(env, [&] { return batches_from_js(info[0]); });
    auto engine = claim(env, "step");
    auto result = std::make_shared<loralab::StepResult>();
    return run_async(
        env, [engine, batches, result]() { *result = engine->step(batches); },
        [result](Napi::Env e) {
          Napi::Object o = Napi::Object::New(e);
          o.Set("loss", result->loss);
          o.Set("tokens", static_cast<double>(result->tokens));
          o.Set("gradNorm", result->grad_norm);
          o.Set("lr", result->lr);
          o.Set("step", result->step);
          return o;
        });
  }

  Napi::Value EvalLoss(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return EvalLossImpl(info); }); }
  Napi::Value EvalLossImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto batches = guarded(env, [&] { return batches_from_js(info[0]); });
    auto engine = claim(env, "evalLoss");
    auto loss = std::make_shared<double>(0);
    return run_async(env, [engine, batches, loss]() { *loss = engine->eval_loss(batches); },
                     [loss](Napi::Env e) { return Napi::Number::New(e, *loss); });
  }

  Napi::Value PathCall(const Napi::CallbackInfo& info, const char* what,
                       std::function<void(loralab::Engine&, const std::string&, const std::string&)> call) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) throw make_js_error(env, "E_INVALID_ARGUMENT", std::string("Expected a folder path for ") + what + "()");
    std::string dir = info[0].As<Napi::String>().Utf8Value();
    std::string extra = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto engine = claim(env, what);
    return run_async(env, [engine, dir, extra, call]() { call(*engine, dir, extra); }, nullptr);
  }

  Napi::Value SaveAdapter(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return SaveAdapterImpl(info); }); }
  Napi::Value SaveAdapterImpl(const Napi::CallbackInfo& info) {
    return PathCall(info, "saveAdapter",
                    [](loralab::Engine& e, const std::string& d, const std::string& base) { e.save_adapter(d, base); });
  }
  Napi::Value LoadAdapter(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return LoadAdapterImpl(info); }); }
  Napi::Value LoadAdapterImpl(const Napi::CallbackInfo& info) {
    return PathCall(info, "loadAdapter", [](loralab::Engine& e, const std::string& d, const std::string&) { e.load_adapter(d); });
  }
  Napi::Value SaveState(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return SaveStateImpl(info); }); }
  Napi::Value SaveStateImpl(const Napi::CallbackInfo& info) {
    return PathCall(info, "saveState", [](loralab::Engine& e, const std::string& d, const std::string&) { e.save_state(d); });
  }
  Napi::Value LoadState(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return LoadStateImpl(info); }); }
  Napi::Value LoadStateImpl(const Napi::CallbackInfo& info) {
    return PathCall(info, "loadState", [](loralab::Engine& e, const std::string& d, const std::string&) { e.load_state(d); });
  }

  Napi::Value Generate(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return GenerateImpl(info); }); }
  Napi::Value GenerateImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() && !info[0].IsArray())
      throw make_js_error(env, "E_INVALID_ARGUMENT", "Expected an Int32Array of prompt ids for generate()");
    std::vector<int32_t> prompt;
    if (info[0].IsTypedArray()) {
      auto arr = info[0].As<Napi::Int32Array>();
      prompt.assign(arr.Data(), arr.Data() + arr.ElementLength());
    } else {
      auto arr = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); ++i) prompt.push_back(arr.Get(i).As<Napi::Number>().Int32Value());
    }
    auto options = guarded(env, [&] {
      return info.Length() > 1 && info[1].IsObject() ? generate_options_from_js(info[1].As<Napi::Object>()) : loralab::GenerateOptions{};
    });
    std::shared_ptr<Napi::ThreadSafeFunction> tsfn;
    if (info.Length() > 2 && info[2].IsFunction()) {
      tsfn = std::make_shared<Napi::ThreadSafeFunction>(
          Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "loralab.generate", 0, 1));
    }
    auto engine = claim(env, "generate");
    auto result = std::make_shared<std::vector<int32_t>>();
    return run_async(
        env,
        [engine, prompt, options, tsfn, result]() {
          struct Release {  // the thread-safe function keeps the event loop alive until released
            std::shared_ptr<Napi::ThreadSafeFunction> fn;
            ~Release() {
              if (fn) fn->Release();
            }
          } release{tsfn};
          *result = engine->generate(prompt, options, [tsfn](int32_t id) {
            if (tsfn) {
              tsfn->BlockingCall([id](Napi::Env e, Napi::Function cb) { cb.Call({Napi::Number::New(e, id)}); });
            }
            return true;
          });
          if (tsfn) {
            // Calls run in order on the JS thread: once this marker ran, every token was delivered,
            // so the promise never resolves before the last onToken callback.
            auto delivered = std::make_shared<std::promise<void>>();
            auto done = delivered->get_future();
            tsfn->BlockingCall([delivered](Napi::Env, Napi::Function) { delivered->set_value(); });
            done.wait();
          }
        },
        [result](Napi::Env e) { return int_array(e, *result); });
  }

  // score({tokens, contextLengths, continuationLengths}, {sharePrefix}, onProgress(done, total)):
  // requests packed as one Int32Array (each request's context then continuation). Resolves to
  // {sumLogprob: Float64Array, isGreedy: Uint8Array, computed: Float64Array} in request order.
  // onProgress runs at most every 100 ms and once at the end, always before the promise settles.
  Napi::Value Score(const Napi::CallbackInfo& info) { return rejecting(info.Env(), [&] { return ScoreImpl(info); }); }
  Napi::Value ScoreImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto requests = std::make_shared<std::vector<loralab::ScoreRequest>>(score_requests_from_js(env, info[0]));
    loralab::ScoreOptions options;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Value share = info[1].As<Napi::Object>().Get("sharePrefix");
      if (!share.IsUndefined()) {
        if (!share.IsBoolean()) throw make_js_error(env, "E_INVALID_ARGUMENT", "Expected a boolean for score() option sharePrefix");
        options.share_prefix = share.As<Napi::Boolean>().Value();
      }
    }
    std::shared_ptr<Napi::ThreadSafeFunction> tsfn;
    if (info.Length() > 2 && info[2].IsFunction())
      tsfn = std::make_shared<Napi::ThreadSafeFunction>(
          Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "loralab.score", 0, 1));
    auto engine = claim(env, "score");
    auto result = std::make_shared<std::vector<loralab::ScoreResult>>();
    return run_async(
        env,
        [engine, requests, options, tsfn, result]() mutable {
          struct Release {
            std::shared_ptr<Napi::ThreadSafeFunction> fn;
            ~Release() {
              if (fn) fn->Release();
            }
          } release{tsfn};
          auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
          if (tsfn) {
            options.on_progress = [tsfn, &last](int64_t done, int64_t total) {
              const auto now = std::chrono::steady_clock::now();
              if (done != total && now - last < std::chrono::milliseconds(100)) return;
              last = now;
              tsfn->BlockingCall([done, total](Napi::Env e, Napi::Function cb) {
                cb.Call({Napi::Number::New(e, static_cast<double>(done)), Napi::Number::New(e, static_cast<double>(total))});
              });
            };
          }
          *result = engine->score(*requests, options);
          if (tsfn) {
            auto delivered = std::make_shared<std::promise<void>>();
            auto done = delivered->get_future();
            tsfn->BlockingCall([delivered](Napi::Env, Napi::Function) { delivered->set_value(); });
            done.wait();
          }
        },
        [result](Napi::Env e) {
          const size_t n = result->size();
          auto sums = Napi::Float64Array::New(e, n);
          auto greedy = Napi::Uint8Array::New(e, n);
          auto computed = Napi::Float64Array::New(e, n);
          for (size_t i = 0; i < n; ++i) {
            sums[i] = (*result)[i].sum_logprob;
            greedy[i] = (*result)[i].is_greedy ? 1 : 0;
            computed[i] = static_cast<double>((*result)[i].computed);
          }
          Napi::Object o = Napi::Object::New(e);
          o.Set("sumLogprob", sums);
          o.Set("isGreedy", greedy);
          o.Set("computed", computed);
          return o;
        });
  }

  static std::vector<loralab::ScoreRequest> score_requests_from_js(Napi::Env env, Napi::Value value) {
    const char* shape = "Expected {tokens: Int32Array, contextLengths: Int32Array, continuationLengths: Int32Array} for score()";
    if (!value.IsObject()) throw make_js_error(env, "E_INVALID_ARGUMENT", shape);
    Napi::Object o = value.As<Napi::Object>();
    auto int32 = [&](const char* key) {
      Napi::Value v = o.Get(key);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw make_js_error(env, "E_INVALID_ARGUMENT", std::string(shape) + ": '" + key + "' is not an Int32Array");
      return v.As<Napi::Int32Array>();
    };
    Napi::Int32Array tokens = int32("tokens"), ctx = int32("contextLengths"), cont = int32("continuationLengths");
    if (ctx.ElementLength() != cont.ElementLength())
      throw make_js_error(env, "E_INVALID_ARGUMENT", "score(): contextLengths and continuationLengths differ in length");
    std::vector<loralab::ScoreRequest> out(ctx.ElementLength());
    size_t at = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (ctx[i] < 0 || cont[i] < 0 || at + ctx[i] + cont[i] > tokens.ElementLength())
        throw make_js_error(env, "E_INVALID_ARGUMENT", "score(): request " + std::to_string(i) + "'s lengths run past the end of tokens");
      out[i].context.assign(tokens.Data() + at, tokens.Data() + at + ctx[i]);
      at += ctx[i];
      out[i].continuation.assign(tokens.Data() + at, tokens.Data() + at + cont[i]);
      at += cont[i];
    }
    if (at != tokens.ElementLength())
      throw make_js_error(env, "E_INVALID_ARGUMENT",
                          "score(): tokens holds " + std::to_string(tokens.ElementLength() - at) + " ids beyond the requests' lengths");
    return out;
  }
};

Napi::FunctionReference* engine_constructor = nullptr;

Napi::Value LoadEngineImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw make_js_error(env, "E_INVALID_ARGUMENT", "Expected a model folder path for loadEngine()");
  std::string folder = info[0].As<Napi::String>().Utf8Value();
  if (!info[1].IsObject() || info[1].IsArray())
    throw make_js_type_error(env, "E_INVALID_ARGUMENT",
                             "Expected an options object for loadEngine(folder, options) (build it with engineOptions())");
  loralab::EngineOptions options;
  try {
    options = options_from_js(info[1].As<Napi::Object>());
  } catch (const loralab::Error& e) {
    throw make_js_error(env, e);
  }
  auto loaded = std::make_shared<std::unique_ptr<loralab::Engine>>();
  return PromiseWorker::Queue(
      env, [folder, options, loaded]() { *loaded = loralab::Engine::load(folder, options); },
      [loaded](Napi::Env e) {
        auto* holder = new std::unique_ptr<loralab::Engine>(std::move(*loaded));
        return engine_constructor->New({Napi::External<std::unique_ptr<loralab::Engine>>::New(e, holder)});
      });
}

Napi::Value LoadEngine(const Napi::CallbackInfo& info) {
  return rejecting(info.Env(), [&] { return LoadEngineImpl(info); });
}

Napi::Value MergeAdapterImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (int i = 0; i < 3; ++i)
    if (!info[i].IsString())
      throw make_js_error(env, "E_INVALID_ARGUMENT", "Expected mergeAdapter(checkpointDir, adapterDir, outDir[, maxShardBytes])");
  std::string checkpoint = info[0].As<Napi::String>().Utf8Value();
  std::string adapter = info[1].As<Napi::String>().Utf8Value();
  std::string out = info[2].As<Napi::String>().Utf8Value();
  uint64_t max_shard =
      info.Length() > 3 && info[3].IsNumber() ? static_cast<uint64_t>(info[3].As<Napi::Number>().DoubleValue()) : 5000000000ull;
  return PromiseWorker::Queue(env, [=]() { loralab::merge_adapter(checkpoint, adapter, out, max_shard); }, nullptr);
}

Napi::Value MergeAdapter(const Napi::CallbackInfo& info) {
  return rejecting(info.Env(), [&] { return MergeAdapterImpl(info); });
}

void RegisterEngine(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = EngineWrap::Define(env);
  engine_constructor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("Engine", ctor);
  exports.Set("loadEngine", Napi::Function::New(env, LoadEngine, "loadEngine"));
  exports.Set("mergeAdapter", Napi::Function::New(env, MergeAdapter, "mergeAdapter"));
}

}  // namespace loralab_binding
