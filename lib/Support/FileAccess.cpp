//===- FileAccess.cpp - opening files a model or a user names -------------===//

#include "amct/Support/FileAccess.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace amct;

ReadableFile::~ReadableFile() {
  if (descriptor >= 0)
    ::close(descriptor);
}

ReadableFile::ReadableFile(ReadableFile &&other) noexcept
    : descriptor(other.descriptor), bytes(other.bytes),
      path(std::move(other.path)) {
  other.descriptor = -1;
}

ReadableFile &ReadableFile::operator=(ReadableFile &&other) noexcept {
  if (this != &other) {
    if (descriptor >= 0)
      ::close(descriptor);
    descriptor = other.descriptor;
    bytes = other.bytes;
    path = std::move(other.path);
    other.descriptor = -1;
  }
  return *this;
}

int ReadableFile::release() {
  int fd = descriptor;
  descriptor = -1;
  return fd;
}

bool ReadableFile::readAt(uint64_t offset, uint64_t length, std::string &out,
                          std::string &error) const {
  if (offset > bytes || length > bytes - offset)
    return readAt(offset, length, static_cast<void *>(nullptr), error);
  out.resize(length);
  return readAt(offset, length, static_cast<void *>(out.data()), error);
}

bool ReadableFile::readAt(uint64_t offset, uint64_t length, void *out,
                          std::string &error) const {
  if (offset > bytes || length > bytes - offset) {
    error = path + ": has " + std::to_string(bytes) + " bytes, needs " +
            std::to_string(length) + " at offset " + std::to_string(offset);
    return false;
  }
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(descriptor, static_cast<char *>(out) + done, length - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = path + ": cannot read: " +
              (n < 0 ? std::strerror(errno) : "the file is shorter than it was");
      return false;
    }
    done += static_cast<uint64_t>(n);
  }
  return true;
}

/// What a non-regular file is, for the error message.
static const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a regular file";
}

/// Opens the entry `name` of `dirFd` (AT_FDCWD for a plain path) for
/// reading: stat first, so a device or FIFO is refused before it is opened
/// (opening some devices has effects), then open without blocking and
/// without following a final link when `noFollow`, then fstat, so what is
/// read is the regular file that was checked.
static bool openChecked(int dirFd, const std::string &name, bool noFollow,
                        const std::string &shownPath, int &descriptor, uint64_t &size, std::string &error) {
  struct stat before;
  if (::fstatat(dirFd, name.c_str(), &before, noFollow ? AT_SYMLINK_NOFOLLOW : 0) != 0) {
    error = shownPath + ": cannot open: " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(before.st_mode)) {
    error = shownPath + ": is " + fileKind(before.st_mode) +
            ", expected a regular file";
    return false;
  }
  int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0);
  int fd;
  do
    fd = ::openat(dirFd, name.c_str(), flags);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    error = shownPath + ": cannot open: " +
            (errno == ELOOP ? std::string("is a symbolic link") : std::strerror(errno));
    return false;
  }
  struct stat after;
  if (::fstat(fd, &after) != 0 || !S_ISREG(after.st_mode) ||
      after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
    ::close(fd);
    error = shownPath + ": changed while it was being opened";
    return false;
  }
  descriptor = fd;
  size = static_cast<uint64_t>(after.st_size);
  return true;
}

bool amct::openRegularFile(const std::string &path, ReadableFile &file,
                           std::string &error) {
  ReadableFile opened;
  opened.path = path;
  if (!openChecked(AT_FDCWD, path, /*noFollow=*/false, path,
                   opened.descriptor, opened.bytes, error))
    return false;
  file = std::move(opened);
  return true;
}

bool amct::openFileInFolder(const std::string &folder, const std::string &location,
                            ReadableFile &file, std::string &error) {
  if (location.empty()) {
    error = "the location is empty";
    return false;
  }
  if (location.front() == '/') {
    error = "location '" + location + "' is absolute; it must be a relative "
            "path inside the model's folder";
    return false;
  }
  std::vector<std::string> parts;
  for (size_t start = 0; start <= location.size();) {
    size_t end = location.find('/', start);
    if (end == std::string::npos)
      end = location.size();
    std::string part = location.substr(start, end - start);
    if (part == "..") {
      error = "location '" + location + "' contains '..'; it must be a "
              "relative path inside the model's folder";
      return false;
    }
    if (!part.empty() && part != ".")
      parts.push_back(std::move(part));
    start = end + 1;
  }
  if (parts.empty()) {
    error = "location '" + location + "' names the model's folder, not a file";
    return false;
  }

  int dirFd = ::open(folder.empty() ? "." : folder.c_str(),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0) {
    error = "cannot open the model's folder '" + folder + "': " + std::strerror(errno);
    return false;
  }
  std::string walked;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (walked.empty() ? "" : "/") + parts[i];
    struct stat st;
    if (::fstatat(dirFd, parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      ::close(dirFd);
      error = "location '" + location + "' passes through '" + walked +
              "', a symbolic link; links are not followed in external data "
              "(they could lead out of the model's folder)";
      return false;
    }
    int next = ::openat(dirFd, parts[i].c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int savedErrno = errno;
    ::close(dirFd);
    if (next < 0) {
      error = "location '" + location + "': cannot open folder '" + walked +
              "': " + (savedErrno == ELOOP ? "is a symbolic link"
                                           : std::strerror(savedErrno));
      return false;
    }
    dirFd = next;
  }

  const std::string &name = parts.back();
  struct stat st;
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode)) {
    ::close(dirFd);
    error = "location '" + location + "' is a symbolic link; links are not "
            "followed in external data (they could lead out of the model's "
            "folder)";
    return false;
  }
  ReadableFile opened;
  opened.path = (folder.empty() ? std::string(".") : folder) + "/" + location;
  std::string reason;
  bool ok = openChecked(dirFd, name, /*noFollow=*/true, "location '" + location + "'",
                        opened.descriptor, opened.bytes, reason);
  ::close(dirFd);
  if (!ok) {
    error = reason;
    return false;
  }
  file = std::move(opened);
  return true;
}

bool amct::readRegularFile(const std::string &path, std::string &contents,
                           std::string &error) {
  ReadableFile file;
  return openRegularFile(path, file, error) && file.readAll(contents, error);
}
