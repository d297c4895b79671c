// ctest: safetensors round trip (F32/BF16/F16, metadata), unaligned data offsets, symlinks,
// sharded index, pickle refusal, and clean errors for corrupted, out-of-bounds and truncated files.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace loralab;

namespace {

void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  bytes += header + data;
  write_file_atomic(path, bytes.data(), bytes.size());
}

std::string file_bytes(const std::string& path) { return read_text_file(path); }

void test_round_trip(const std::string& dir) {
  std::vector<float> a = {1.0f, -2.5f, 3.25f, 1e-3f, 0.0f, -0.0f};  // (2, 3)
  std::vector<uint16_t> b = {f32_to_bf16(1.5f), f32_to_bf16(-7.0f), f32_to_bf16(0.1f), f32_to_bf16(1e20f)};  // (4,)
  std::vector<uint16_t> h = {f32_to_f16(0.5f), f32_to_f16(-65504.0f)};  // (1, 2)
  const std::string path = path_join(dir, "rt.safetensors");
  write_safetensors(path,
                    {{"a", DType::F32, {2, 3}, a.data()}, {"b.bf16", DType::BF16, {4}, b.data()},
                     {"h", DType::F16, {1, 2}, h.data()}, {"empty", DType::F32, {0, 4}, nullptr}},
                    {{"note", "round trip"}});
  auto f = SafetensorsFile::open(path);
  CHECK(f->names().size() == 4);
  CHECK(f->metadata().at("format") == "pt");
  CHECK(f->metadata().at("note") == "round trip");
  const TensorView& va = f->get("a");
  CHECK(va.dtype == DType::F32 && va.shape == std::vector<int64_t>({2, 3}) && va.nbytes == 24);
  std::vector<float> back(6);
  tensor_to_f32(va, back.data());
  CHECK(std::memcmp(back.data(), a.data(), 24) == 0);
  const TensorView& vb = f->get("b.bf16");
  CHECK(vb.dtype == DType::BF16);
  CHECK_NEAR(load_as_f32(vb.data, vb.dtype, 1), -7.0, 0);
  CHECK_NEAR(load_as_f32(vb.data, vb.dtype, 2), 0.10009765625, 0);  // 0.1 rounded to nearest bf16
  const TensorView& vh = f->get("h");
  CHECK_NEAR(load_as_f32(vh.data, vh.dtype, 1), -65504.0, 0);
  CHECK(f->get("empty").numel() == 0);
  expect_error("E_TENSOR_MISSING", [&] { f->get("nope"); });
  // The data section starts 8-byte aligned, and no temp file is left behind.
  std::string raw = file_bytes(path);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; --i) hl = (hl << 8) | static_cast<uint8_t>(raw[i]);
  CHECK((8 + hl) % 8 == 0);
  for (const auto& n : list_directory(dir)) CHECK(n.find(".tmp-") == std::string::npos);
}

void test_bf16_rounding() {
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even mantissa (1.0).
  CHECK(f32_to_bf16(1.00390625f) == 0x3f80);
  // 1 + 3 * 2^-8 is halfway too: rounds up to the even neighbour 1 + 2^-6.
  CHECK(f32_to_bf16(1.01171875f) == 0x3f82);
  uint32_t above_half = 0x3f808001u;  // one fp32 ulp above halfway rounds up
  float f;
  std::memcpy(&f, &above_half, 4);
  CHECK(f32_to_bf16(f) == 0x3f81);
}

void test_unaligned_and_symlinks(const std::string& dir) {
  // Header of odd length: the data offsets of every tensor are unaligned in memory.
  float vals[3] = {1.25f, -3.5f, 7.0f};
  std::string data(1, 'x');  // one junk byte so "w" starts at offset 1
  data.append(reinterpret_cast<const char*>(vals), 12);
  std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}}";
  CHECK(header.size() % 8 != 0);
  const std::string model_dir = path_join(dir, "blobs");
  make_directories(model_dir);
  const std::string real = path_join(model_dir, "abc123");
  write_raw(real, header, data);
  // A HF-cache-like snapshot: the folder entry is a symlink to a blob.
  const std::string snap = path_join(dir, "snapshot");
  make_directories(snap);
  CHECK(::symlink(real.c_str(), path_join(snap, "model.safetensors").c_str()) == 0);
  auto ckpt = CheckpointReader::open(snap);
  std::vector<float> out(3);
  ckpt->read_f32("w", {3}, out.data());
  CHECK(out[0] == 1.25f && out[1] == -3.5f && out[2] == 7.0f);
  std::string msg = expect_error("E_TENSOR_SHAPE", [&] { ckpt->read_f32("w", {4}, out.data()); });
  CHECK(msg.find("'w'") != std::string::npos && msg.find("[3]") != std::string::npos);
}

void test_sharded(const std::string& dir) {
  const std::string folder = path_join(dir, "sharded");
  make_directories(folder);
  std::vector<float> x = {1, 2, 3, 4}, y = {5, 6};
  write_safetensors(path_join(folder, "model-00001-of-00002.safetensors"), {{"x", DType::F32, {2, 2}, x.data()}});
  write_safetensors(path_join(folder, "model-00002-of-00002.safetensors"), {{"y", DType::F32, {2}, y.data()}});
  write_text_file_atomic(path_join(folder, "model.safetensors.index.json"),
                         "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                         "\"y\":\"model-00002-of-00002.safetensors\"}}");
  auto ckpt = CheckpointReader::open(folder);
  CHECK(ckpt->names().size() == 2);
  std::vector<float> out(2);
  ckpt->read_f32("y", {2}, out.data());
  CHECK(out[0] == 5 && out[1] == 6);
  // An index that names a tensor its shard lacks.
  write_text_file_atomic(path_join(folder, "model.safetensors.index.json"),
                         "{\"weight_map\":{\"z\":\"model-00001-of-00002.safetensors\"}}");
  std::string msg = expect_error("E_TENSOR_MISSING", [&] { CheckpointReader::open(folder); });
  CHECK(msg.find("'z'") != std::string::npos);
  write_text_file_atomic(path_join(folder, "model.safetensors.index.json"),
                         "{\"weight_map\":{\"x\":\"../model.safetensors\"}}");
  expect_error("E_SAFETENSORS_INDEX", [&] { CheckpointReader::open(folder); });
  write_text_file_atomic(path_join(folder, "model.safetensors.index.json"), "{\"weight_map\": [}");
  expect_error("E_SAFETENSORS_INDEX", [&] { CheckpointReader::open(folder); });
}

void test_pickles_refused(const std::string& dir) {
  const std::string folder = path_join(dir, "pickled");
  make_directories(folder);
  write_text_file_atomic(path_join(folder, "config.json"), "{}");
  write_text_file_atomic(path_join(folder, "pytorch_model.bin"), "PK\x03\x04 not really");
  std::string msg = expect_error("E_PICKLE_CHECKPOINT", [&] { CheckpointReader::open(folder); });
  CHECK(msg.find("pytorch_model.bin") != std::string::npos);
  expect_error("E_FILE_NOT_FOUND", [&] { CheckpointReader::open(path_join(dir, "no-such-folder")); });
}

void test_corruption(const std::string& dir) {
  const std::string p = path_join(dir, "bad.safetensors");
  float v[2] = {1, 2};
  std::string data(reinterpret_cast<const char*>(v), 8);
  // Not JSON.
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  // Header length larger than the file.
  {
    std::string bytes(8, '\0');
    bytes[0] = '\xff';
    bytes[1] = '\xff';
    bytes += "{}";
    write_file_atomic(p, bytes.data(), bytes.size());
    expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
    bytes.assign(8, '\xff');  // 2^64 - 1: must not overflow the bounds check
    write_file_atomic(p, bytes.data(), bytes.size());
    expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  }
  // Too short for a header at all.
  write_file_atomic(p, "abc", 3);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  write_file_atomic(p, "", 0);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  // Offsets past the end of the data.
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", data);
  std::string msg = expect_error("E_SAFETENSORS_BOUNDS", [&] { SafetensorsFile::open(p); });
  CHECK(msg.find("'w'") != std::string::npos);
  // Offsets whose span disagrees with the shape.
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", data);
  expect_error("E_SAFETENSORS_BOUNDS", [&] { SafetensorsFile::open(p); });
  // Reversed / negative / huge offsets and shapes.
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  write_raw(p, "[1,2]", data);
  expect_error("E_SAFETENSORS_HEADER", [&] { SafetensorsFile::open(p); });
  // Unsupported dtype names the tensor.
  write_raw(p, "{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data);
  msg = expect_error("E_UNSUPPORTED_DTYPE", [&] { SafetensorsFile::open(p); });
  CHECK(msg.find("'ids'") != std::string::npos && msg.find("I64") != std::string::npos);
  // A valid file cut short (truncated download) at every possible length fails cleanly.
  std::vector<float> big(64, 3.0f);
  const std::string whole = path_join(dir, "whole.safetensors");
  write_safetensors(whole, {{"big", DType::F32, {8, 8}, big.data()}});
  std::string full = file_bytes(whole);
  int clean = 0;
  for (size_t cut = 0; cut < full.size(); cut += 7) {
    write_file_atomic(p, full.data(), cut);
    try {
      SafetensorsFile::open(p);
    } catch (const Error& e) {
      ++clean;
    }
  }
  CHECK(clean == static_cast<int>((full.size() + 6) / 7));
}

// Random byte corruption of a valid file (header and length prefix): every open either succeeds
// with every tensor inside the file, or throws loralab::Error. Never a crash.
void test_fuzzed_headers(const std::string& dir) {
  std::vector<float> w(24, 1.5f);
  std::vector<uint16_t> h(10, f32_to_bf16(2.0f));
  const std::string src = path_join(dir, "fuzz-src.safetensors");
  write_safetensors(src, {{"w", DType::F32, {4, 6}, w.data()}, {"h", DType::BF16, {10}, h.data()}});
  const std::string good = file_bytes(src);
  const std::string p = path_join(dir, "fuzz.safetensors");
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int opened = 0, refused = 0, in_bounds = 0;
  const size_t header_end = 8 + (static_cast<uint8_t>(good[0]) | (static_cast<uint8_t>(good[1]) << 8));
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(next() % 3);
    for (int f = 0; f < flips; ++f) {
      size_t at = next() % header_end;
      if (next() & 1) {  // aim at numbers (shapes, offsets, the length prefix) half of the time
        for (size_t k = 0; k < header_end && !(at < 8 || (bytes[at] >= '0' && bytes[at] <= '9')); ++k)
          at = (at + 1) % header_end;
        if (at >= 8) {
          bytes[at] = static_cast<char>('0' + next() % 10);
          continue;
        }
      }
      static const std::string pool("0123456789[]{}\":,.-e \0\xff", 23);  // JSON-ish bytes
      bytes[at] = (next() & 1) ? pool[next() % pool.size()] : static_cast<char>(next());
    }
    write_file_atomic(p, bytes.data(), bytes.size());
    try {
      auto f = SafetensorsFile::open(p);
      ++opened;
      bool ok = true;
      for (const auto& n : f->names()) {
        const TensorView& v = f->get(n);
        ok = ok && v.nbytes == static_cast<size_t>(v.numel()) * dtype_size(v.dtype);
        std::vector<float> out(static_cast<size_t>(v.numel()));
        tensor_to_f32(v, out.data());  // reads every byte the view claims
      }
      if (ok) ++in_bounds;
    } catch (const Error&) {
      ++refused;
    }
  }
  std::printf("fuzzed headers: %d refused with an error, %d opened (%d consistent)\n", refused, opened, in_bounds);
  CHECK(refused + opened == 200);
  CHECK(in_bounds == opened);
  CHECK(refused > 50 && opened >= 1);
}

void test_json() {
  JsonValue v = parse_json("{\"a\": [1, 2.5e-3, -0, true, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", \"b\": {}}", "t");
  CHECK(v.find("a")->items().size() == 5);
  CHECK(v.find("a")->items()[0].is_integer());
  CHECK(!v.find("a")->items()[1].is_integer());
  CHECK_NEAR(v.find("a")->items()[1].as_number(), 2.5e-3, 0);
  CHECK(v.find("s")->as_string() == "x\xc3\xa9\xf0\x9f\x98\x80\n");
  // Numbers keep their source text; key order is kept.
  CHECK(v.dump() == "{\"a\":[1,2.5e-3,-0,true,null],\"s\":\"x\xc3\xa9\xf0\x9f\x98\x80\\n\",\"b\":{}}");
  CHECK(JsonValue::number(1e-5).dump() == "1e-05");
  CHECK(JsonValue::number(std::nan("")).dump() == "null");  // stays valid JSON
  CHECK(JsonValue::number(0.1f).dump() == "0.10000000149011612");
  expect_error("E_JSON_PARSE", [] { parse_json("{\"a\":1,\"a\":2}", "dup"); });
  expect_error("E_JSON_PARSE", [] { parse_json("[1,]", "trailing"); });
  expect_error("E_JSON_PARSE", [] { parse_json("01", "leading zero"); });
  expect_error("E_JSON_PARSE", [] { parse_json(std::string(300, '[') + std::string(300, ']'), "deep"); });
  std::string msg = expect_error("E_CONFIG_PARSE", [] { parse_json("{\"x\": tru}", "config.json", "E_CONFIG_PARSE"); });
  CHECK(msg.find("config.json") != std::string::npos && msg.find("byte") != std::string::npos);
}

}  // namespace

int main() {
  const std::string dir = make_temp_dir("st");
  test_json();
  test_bf16_rounding();
  test_round_trip(dir);
  test_unaligned_and_symlinks(dir);
  test_sharded(dir);
  test_pickles_refused(dir);
  test_corruption(dir);
  test_fuzzed_headers(dir);
  remove_tree(dir);
  return test_summary("test_safetensors");
}
