// Error type of the native core: a stable code, a message naming the tensor/key/file, and the
// C++ file:line that raised it. Library code throws; it never calls exit().
#pragma once
#include <stdexcept>
#include <string>

namespace loralab {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, const char* file, int line)
      : std::runtime_error(message), code_(std::move(code)), where_(std::string(file) + ":" + std::to_string(line)) {}
  const std::string& code() const { return code_; }
  const std::string& where() const { return where_; }

 private:
  std::string code_;
  std::string where_;
};

}  // namespace loralab

// LORALAB_THROW("E_BAD_HEADER", "model.safetensors: header length " + ...)
#define LORALAB_THROW(code, msg) throw ::loralab::Error((code), (msg), __FILE__, __LINE__)
#define LORALAB_CHECK(cond, code, msg) \
  do {                                 \
    if (!(cond)) LORALAB_THROW((code), (msg)); \
  } while (0)
