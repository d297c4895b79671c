// Safetensors reading (memory-mapped, bounds-checked, unaligned-safe, through symlinks) and
// writing (atomic: temp file + rename), plus Hugging Face checkpoint folders that hold one
// model.safetensors or shards listed in model.safetensors.index.json.
// CONTRACT shared by the engine's I/O and model code: change only together.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"

namespace loralab {

// A tensor inside a mapped file. `data` may be unaligned: read it with load_as_f32 / memcpy.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

class SafetensorsFile {
 public:
  // Throws Error (codes E_FILE_NOT_FOUND, E_SAFETENSORS_HEADER, E_SAFETENSORS_BOUNDS,
  // E_UNSUPPORTED_DTYPE) naming the file and the tensor.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  const TensorView& get(const std::string& name) const;  // E_TENSOR_MISSING
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A Hugging Face model folder: model.safetensors, or shards via model.safetensors.index.json.
// Refuses folders that only hold pickles (.bin / .pth / .pt) with E_PICKLE_CHECKPOINT.
class CheckpointReader {
 public:
  static std::unique_ptr<CheckpointReader> open(const std::string& folder);
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  const TensorView& get(const std::string& name) const;  // E_TENSOR_MISSING names tensor + folder
  // Copies a tensor as fp32 into `out` (numel floats), checking the expected shape
  // (E_TENSOR_SHAPE names tensor, expected and found shapes).
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape, float* out) const;
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
};

// Converts any supported dtype to fp32 (numel floats into `out`), unaligned-safe.
void tensor_to_f32(const TensorView& view, float* out);

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // nbytes = numel * dtype_size, little-endian, row-major
};

// Writes one safetensors file atomically (path + ".tmp-<pid>", fsync, rename). Header metadata
// always includes {"format": "pt"}; tensors are written in the order given.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace loralab
