// The addon's entry: registers every export; each export lives in its own binding file.
#include <napi.h>

namespace loralab_binding {
Napi::Value DeviceReport(const Napi::CallbackInfo& info);
void RegisterEngine(Napi::Env env, Napi::Object exports);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceReport", Napi::Function::New(env, loralab_binding::DeviceReport, "deviceReport"));
  loralab_binding::RegisterEngine(env, exports);
  return exports;
}

NODE_API_MODULE(loralab, Init)
