//===- FileAccess.h - opening files a model or a user names -----*- C++ -*-===//
//
// Every file the tools read goes through these two functions, so that no
// path can make a tool hang (a FIFO opened for reading blocks until a writer
// comes) or read something other than a regular file, and so that paths a
// *model* names (ONNX external data) cannot leave the model's folder.
//
// The checks are made on the opened descriptor (fstat after open) and the
// folder walk uses openat with O_NOFOLLOW on every component, so nothing can
// be swapped between the check and the read.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_FILEACCESS_H
#define AMCT_SUPPORT_FILEACCESS_H

#include <cstdint>
#include <string>

namespace amct {

/// A file descriptor open for reading, closed when it goes out of scope.
class ReadableFile {
public:
  ReadableFile() = default;
  ~ReadableFile();
  ReadableFile(ReadableFile &&other) noexcept;
  ReadableFile &operator=(ReadableFile &&other) noexcept;
  ReadableFile(const ReadableFile &) = delete;
  ReadableFile &operator=(const ReadableFile &) = delete;

  int fd() const { return descriptor; }
  /// Size in bytes, from fstat on the open descriptor.
  uint64_t size() const { return bytes; }
  bool isOpen() const { return descriptor >= 0; }
  /// Gives up ownership of the descriptor (the caller closes it).
  int release();

  /// Reads exactly `length` bytes at `offset` into `out`; false with
  /// `error` set ("<path>: ...") when the file has fewer or the read fails.
  bool readAt(uint64_t offset, uint64_t length, void *out,
              std::string &error) const;
  bool readAt(uint64_t offset, uint64_t length, std::string &out,
              std::string &error) const;
  /// Reads the whole file.
  bool readAll(std::string &out, std::string &error) const {
    return readAt(0, bytes, out, error);
  }

private:
  friend bool openRegularFile(const std::string &, ReadableFile &, std::string &);
  friend bool openFileInFolder(const std::string &, const std::string &,
                               ReadableFile &, std::string &);
  int descriptor = -1;
  uint64_t bytes = 0;
  std::string path;
};

/// Opens a file the user named (a model, config, record, data file). The
/// path may pass through links (the user chose it), but the file must be a
/// regular file: directories, FIFOs, sockets and devices are refused, and
/// the open itself cannot block. On failure `error` is
/// "<path>: <reason>" and false is returned.
bool openRegularFile(const std::string &path, ReadableFile &file,
                     std::string &error);

/// Opens `location`, a path a model names, inside `folder`. The rule (the
/// one onnx 1.16 adopted for CVE-2024-27318, made stricter): `location` is
/// relative, has no `..` component, and neither it nor any folder on its
/// way is a symbolic link, even one that points back inside; the file is a
/// regular file. Links are refused outright because whether a link stays
/// inside can change between the check and the read; `folder` itself is
/// resolved once (it may be a link: the user chose it). On failure `error`
/// says which rule was broken (without the model's context: the caller
/// names the initializer) and false is returned.
bool openFileInFolder(const std::string &folder, const std::string &location,
                      ReadableFile &file, std::string &error);

/// Reads a whole file the user named (openRegularFile + readAll).
bool readRegularFile(const std::string &path, std::string &contents,
                     std::string &error);

} // namespace amct

#endif // AMCT_SUPPORT_FILEACCESS_H
