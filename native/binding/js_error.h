// Turns native core errors into JS errors carrying a `code` (and `where`, the C++ file:line).
#pragma once
#include <napi.h>

#include "error.h"

namespace loralab_binding {

inline Napi::Error make_js_error(Napi::Env env, const std::string& code, const std::string& message,
                                 const std::string& where = "") {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  if (!where.empty()) err.Set("where", Napi::String::New(env, where));
  return err;
}

// A JS TypeError with a `code`: a missing or wrongly typed argument field.
inline Napi::Error make_js_type_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

inline Napi::Error make_js_error(Napi::Env env, const loralab::Error& e) {
  return make_js_error(env, e.code(), e.what(), e.where());
}

}  // namespace loralab_binding
