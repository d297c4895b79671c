// A Napi::AsyncWorker that runs a plain C++ closure on the libuv pool and settles a promise:
// inputs are captured by value on the JS thread first (sharp's "baton"), so the worker never
// touches JS values; loralab::Error becomes a JS error with `code` and `where`.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "error.h"
#include "js_error.h"

namespace loralab_binding {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using ExecuteFn = std::function<void()>;
  using ResolveFn = std::function<Napi::Value(Napi::Env)>;
  using FinallyFn = std::function<void()>;

  static Napi::Promise Queue(Napi::Env env, ExecuteFn execute, ResolveFn resolve, FinallyFn on_finally = nullptr) {
    auto* worker = new PromiseWorker(env, std::move(execute), std::move(resolve), std::move(on_finally));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Napi::AsyncWorker::Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      execute_();
    } catch (const loralab::Error& e) {
      code_ = e.code();
      where_ = e.where();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "E_OUT_OF_MEMORY";
      SetError("the engine could not allocate memory (std::bad_alloc)");
    } catch (const std::exception& e) {
      code_ = "E_NATIVE";
      SetError(e.what());
    }
  }

  void OnOK() override {
    if (on_finally_) on_finally_();
    Napi::Env env = Env();
    try {
      deferred_.Resolve(resolve_ ? resolve_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    if (on_finally_) on_finally_();
    deferred_.Reject(make_js_error(Env(), code_, e.Message(), where_).Value());
  }

 private:
  PromiseWorker(Napi::Env env, ExecuteFn execute, ResolveFn resolve, FinallyFn on_finally)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)),
        resolve_(std::move(resolve)), on_finally_(std::move(on_finally)) {}

  Napi::Promise::Deferred deferred_;
  ExecuteFn execute_;
  ResolveFn resolve_;
  FinallyFn on_finally_;
  std::string code_ = "E_NATIVE";
  std::string where_;
};

// Runs `fn` (which returns a promise) and turns a synchronous failure, an argument error say,
// into a rejected promise, so async methods never throw.
template <typename Fn>
Napi::Value rejecting(Napi::Env env, Fn fn) {
  try {
    return fn();
  } catch (const Napi::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  } catch (const loralab::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(make_js_error(env, e).Value());
    return deferred.Promise();
  }
}

}  // namespace loralab_binding
