// A small JSON value, parser and writer for the files the engine reads and writes: safetensors
// headers, config.json, adapter_config.json, index files. Objects keep their key order so a
// config.json rewritten by a merge differs only where it was changed. No comments, no NaN.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loralab {

class JsonValue {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  JsonValue() = default;
  static JsonValue null() { return JsonValue(); }
  static JsonValue boolean(bool b);
  static JsonValue number(double d);          // written with the shortest text that round-trips
  static JsonValue integer(int64_t i);        // written exactly
  static JsonValue string(std::string s);
  static JsonValue array();
  static JsonValue object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_number() const { return kind_ == Kind::Number; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_object() const { return kind_ == Kind::Object; }
  const char* kind_name() const;  // "null", "boolean", "number", "string", "array", "object"

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  // True when the number is integral and fits int64 (parsed without fraction/exponent or exactly whole).
  bool is_integer() const;
  int64_t as_int() const { return static_cast<int64_t>(number_); }
  const std::string& as_string() const { return string_; }
  const std::string& number_text() const { return string_; }  // the source text of a parsed number

  // Arrays.
  const std::vector<JsonValue>& items() const { return items_; }
  void push(JsonValue v) { items_.push_back(std::move(v)); }

  // Objects (insertion order kept; set() replaces an existing key in place).
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }
  const JsonValue* find(const std::string& key) const;  // nullptr when absent (or not an object)
  bool has(const std::string& key) const { return find(key) != nullptr; }
  void set(const std::string& key, JsonValue v);
  bool erase(const std::string& key);

  // Serialises; indent < 0 writes compactly, otherwise pretty with that many spaces per level.
  std::string dump(int indent = -1) const;

 private:
  friend class JsonParser;
  void dump_to(std::string& out, int indent, int depth) const;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;  // string value, or a number's text
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Parses a complete JSON text. Throws Error with `error_code` (e.g. E_CONFIG_PARSE,
// E_SAFETENSORS_HEADER) and a message "<source_name>: <what> at byte <offset>".
JsonValue parse_json(const std::string& text, const std::string& source_name,
                     const char* error_code = "E_JSON_PARSE");

// Reads and parses a file; E_FILE_NOT_FOUND when it cannot be read.
JsonValue read_json_file(const std::string& path, const char* error_code = "E_JSON_PARSE");

// Escapes a string as a JSON string literal (with the quotes).
std::string json_quote(const std::string& s);

}  // namespace loralab
