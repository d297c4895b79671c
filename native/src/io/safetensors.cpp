// Safetensors reader (mmap, every header field and offset checked before use) and atomic writer,
// plus the Hugging Face checkpoint folder (single file or sharded index, pickles refused).
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "error.h"
#include "io/files.h"
#include "io/json.h"

namespace loralab {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "F32") *out = DType::F32;
  else if (s == "BF16") *out = DType::BF16;
  else if (s == "F16") *out = DType::F16;
  else if (s == "U8") *out = DType::U8;
  else return false;
  return true;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) LORALAB_THROW("E_FILE_NOT_FOUND", path + ": cannot open safetensors file: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    LORALAB_THROW("E_FILE_NOT_FOUND", path + ": not a regular file");
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    LORALAB_THROW("E_SAFETENSORS_HEADER", path + ": file is " + std::to_string(size) +
                                              " bytes, too short for a safetensors header (truncated download?)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) LORALAB_THROW("E_FILE_NOT_FOUND", path + ": mmap failed: " + std::strerror(errno));
  file->map_ = map;
  file->map_size_ = size;
  const uint8_t* bytes = static_cast<const uint8_t*>(map);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian u64
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    LORALAB_THROW("E_SAFETENSORS_HEADER", path + ": header length " + std::to_string(header_len) +
                                              " does not fit in the file of " + std::to_string(size) +
                                              " bytes (corrupted or truncated file)");
  std::string header_text(reinterpret_cast<const char*>(bytes + 8), header_len);
  JsonValue header = parse_json(header_text, path + " (safetensors header)", "E_SAFETENSORS_HEADER");
  if (!header.is_object()) LORALAB_THROW("E_SAFETENSORS_HEADER", path + ": header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  for (const auto& member : header.members()) {
    const std::string& name = member.first;
    const JsonValue& info = member.second;
    if (name == "__metadata__") {
      if (!info.is_object()) LORALAB_THROW("E_SAFETENSORS_HEADER", path + ": __metadata__ is not an object");
      for (const auto& kv : info.members()) {
        if (!kv.second.is_string())
          LORALAB_THROW("E_SAFETENSORS_HEADER", path + ": __metadata__." + kv.first + " is not a string");
        file->metadata_[kv.first] = kv.second.as_string();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    const JsonValue* dtype = info.find("dtype");
    const JsonValue* shape = info.find("shape");
    const JsonValue* offsets = info.find("data_offsets");
    if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array() ||
        offsets->items().size() != 2)
      LORALAB_THROW("E_SAFETENSORS_HEADER", where + " needs dtype (string), shape (array) and data_offsets ([begin, end])");
    TensorView view;
    view.name = name;
    if (!parse_dtype(dtype->as_string(), &view.dtype))
      LORALAB_THROW("E_UNSUPPORTED_DTYPE", where + " has dtype " + dtype->as_string() +
                                               "; the engine reads F32, BF16 and F16 only");
    uint64_t numel = 1;
    for (const auto& d : shape->items()) {
      if (!d.is_integer() || d.as_int() < 0 || d.as_int() > (int64_t(1) << 40))
        LORALAB_THROW("E_SAFETENSORS_HEADER", where + " has an invalid shape entry");
      const uint64_t dim = static_cast<uint64_t>(d.as_int());
      if (dim != 0 && numel > (uint64_t(1) << 42) / dim)
        LORALAB_THROW("E_SAFETENSORS_HEADER", where + " has more elements than any file can hold");
      view.shape.push_back(d.as_int());
      numel *= dim;
    }
    const JsonValue& b = offsets->items()[0];
    const JsonValue& e = offsets->items()[1];
    if (!b.is_integer() || !e.is_integer() || b.as_int() < 0 || e.as_int() < b.as_int())
      LORALAB_THROW("E_SAFETENSORS_HEADER", where + " has invalid data_offsets");
    uint64_t begin = static_cast<uint64_t>(b.as_int()), end = static_cast<uint64_t>(e.as_int());
    if (end > data_size)
      LORALAB_THROW("E_SAFETENSORS_BOUNDS", where + " data_offsets [" + std::to_string(begin) + ", " +
                                                std::to_string(end) + "] run past the end of the data (" +
                                                std::to_string(data_size) + " bytes; truncated file?)");
    if (end - begin != numel * dtype_size(view.dtype))
      LORALAB_THROW("E_SAFETENSORS_BOUNDS", where + " spans " + std::to_string(end - begin) + " bytes but shape " +
                                                shape_text(view.shape) + " of " + dtype_name(view.dtype) + " needs " +
                                                std::to_string(numel * dtype_size(view.dtype)));
    view.data = bytes + data_start + begin;
    view.nbytes = end - begin;
    file->tensors_[name] = std::move(view);
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

bool SafetensorsFile::has(const std::string& name) const { return tensors_.count(name) != 0; }

const TensorView& SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) LORALAB_THROW("E_TENSOR_MISSING", path_ + ": no tensor named '" + name + "'");
  return it->second;
}

std::unique_ptr<CheckpointReader> CheckpointReader::open(const std::string& folder) {
  if (!is_directory(folder))
    LORALAB_THROW("E_FILE_NOT_FOUND", folder + ": checkpoint folder not found (expected a Hugging Face model folder)");
  std::unique_ptr<CheckpointReader> reader(new CheckpointReader());
  reader->folder_ = folder;
  const std::string index_path = path_join(folder, "model.safetensors.index.json");
  const std::string single_path = path_join(folder, "model.safetensors");
  if (path_exists(index_path)) {
    JsonValue index = read_json_file(index_path, "E_SAFETENSORS_INDEX");
    const JsonValue* map = index.find("weight_map");
    if (!map || !map->is_object())
      LORALAB_THROW("E_SAFETENSORS_INDEX", index_path + ": needs a \"weight_map\" object of tensor name -> shard file");
    std::map<std::string, size_t> file_index;
    for (const auto& kv : map->members()) {
      if (!kv.second.is_string())
        LORALAB_THROW("E_SAFETENSORS_INDEX", index_path + ": weight_map entry '" + kv.first + "' is not a file name");
      const std::string& shard = kv.second.as_string();
      if (shard.find('/') != std::string::npos || shard == "..")
        LORALAB_THROW("E_SAFETENSORS_INDEX", index_path + ": shard name '" + shard + "' must be a plain file name");
      auto it = file_index.find(shard);
      if (it == file_index.end()) {
        reader->files_.push_back(SafetensorsFile::open(path_join(folder, shard)));
        it = file_index.emplace(shard, reader->files_.size() - 1).first;
      }
      if (!reader->files_[it->second]->has(kv.first))
        LORALAB_THROW("E_TENSOR_MISSING", index_path + ": lists tensor '" + kv.first + "' in " + shard +
                                              " but that shard does not hold it");
      reader->owner_[kv.first] = it->second;
    }
  } else if (path_exists(single_path)) {
    reader->files_.push_back(SafetensorsFile::open(single_path));
    for (const auto& n : reader->files_[0]->names()) reader->owner_[n] = 0;
  } else {
    std::vector<std::string> pickles;
    for (const auto& n : list_directory(folder)) {
      auto ends = [&](const char* suffix) {
        size_t k = std::strlen(suffix);
        return n.size() >= k && n.compare(n.size() - k, k, suffix) == 0;
      };
      if (ends(".bin") || ends(".pth") || ends(".pt") || ends(".ckpt")) pickles.push_back(n);
    }
    if (!pickles.empty())
      LORALAB_THROW("E_PICKLE_CHECKPOINT", folder + ": holds only PyTorch pickle weights (" + pickles[0] +
                                               "); pickles are never loaded. Convert the checkpoint to safetensors "
                                               "(e.g. model.save_pretrained(dir, safe_serialization=True)).");
    LORALAB_THROW("E_FILE_NOT_FOUND", folder + ": no model.safetensors or model.safetensors.index.json");
  }
  return reader;
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  for (const auto& kv : owner_) out.push_back(kv.first);
  return out;
}

bool CheckpointReader::has(const std::string& name) const { return owner_.count(name) != 0; }

const TensorView& CheckpointReader::get(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end())
    LORALAB_THROW("E_TENSOR_MISSING", folder_ + ": checkpoint has no tensor '" + name + "'");
  return files_[it->second]->get(name);
}

void tensor_to_f32(const TensorView& view, float* out) {
  const int64_t n = view.numel();
  if (view.dtype == DType::F32) {
    std::memcpy(out, view.data, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = load_as_f32(view.data, view.dtype, static_cast<size_t>(i));
}

void CheckpointReader::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                                float* out) const {
  const TensorView& view = get(name);
  if (view.shape != expected_shape)
    LORALAB_THROW("E_TENSOR_SHAPE", folder_ + ": tensor '" + name + "' has shape " + shape_text(view.shape) +
                                        ", the config implies " + shape_text(expected_shape));
  tensor_to_f32(view, out);
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  JsonValue header = JsonValue::object();
  JsonValue meta = JsonValue::object();
  meta.set("format", JsonValue::string("pt"));
  for (const auto& kv : metadata) meta.set(kv.first, JsonValue::string(kv.second));
  header.set("__metadata__", meta);
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (!seen.insert(t.name).second || t.name == "__metadata__")
      LORALAB_THROW("E_FILE_WRITE", path + ": tensor name '" + t.name + "' given twice (or reserved)");
    uint64_t numel = 1;
    JsonValue shape = JsonValue::array();
    for (auto d : t.shape) {
      if (d < 0) LORALAB_THROW("E_FILE_WRITE", path + ": tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<uint64_t>(d);
      shape.push(JsonValue::integer(d));
    }
    const uint64_t nbytes = numel * dtype_size(t.dtype);
    if (nbytes > 0 && !t.data) LORALAB_THROW("E_FILE_WRITE", path + ": tensor '" + t.name + "' has no data");
    JsonValue info = JsonValue::object();
    info.set("dtype", JsonValue::string(dtype_name(t.dtype)));
    info.set("shape", shape);
    JsonValue offsets = JsonValue::array();
    offsets.push(JsonValue::integer(static_cast<int64_t>(offset)));
    offsets.push(JsonValue::integer(static_cast<int64_t>(offset + nbytes)));
    info.set("data_offsets", offsets);
    header.set(t.name, info);
    offset += nbytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';  // data starts 8-byte aligned, as the reference writer does
  uint8_t len_bytes[8];
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(len >> (8 * i));
  AtomicFileWriter out(path);
  out.write(len_bytes, 8);
  out.write(text.data(), text.size());
  for (const auto& t : tensors) {
    uint64_t numel = 1;
    for (auto d : t.shape) numel *= static_cast<uint64_t>(d);
    if (numel) out.write(t.data, numel * dtype_size(t.dtype));
  }
  out.commit();
}

}  // namespace loralab
