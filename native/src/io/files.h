// File-system helpers for the engine's I/O: atomic writes (temp file in the same folder, fsync,
// rename), whole-file reads, folder creation and listing. Errors are loralab::Error with codes
// E_FILE_NOT_FOUND / E_FILE_WRITE naming the path.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace loralab {

std::string path_join(const std::string& dir, const std::string& name);
bool path_exists(const std::string& path);     // follows symlinks
bool is_directory(const std::string& path);    // follows symlinks
std::string read_text_file(const std::string& path);  // E_FILE_NOT_FOUND
// Creates the folder and its parents (like mkdir -p). E_FILE_WRITE on failure.
void make_directories(const std::string& path);
// Names (not paths) of the entries of a folder, sorted; E_FILE_NOT_FOUND when it is not a folder.
std::vector<std::string> list_directory(const std::string& path);
// Removes a file or a whole folder tree; missing paths are fine.
void remove_tree(const std::string& path);

// Writes `size` bytes to `path` atomically: "<path>.tmp-<pid>", fsync, rename over `path`.
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_text_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// Streams chunks into "<path>.tmp-<pid>" and renames on commit(); the temp file is removed when
// the writer is destroyed without commit() (an exception on the way).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const void* data, size_t size);
  void commit();  // fsync + rename

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace loralab
