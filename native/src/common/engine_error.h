#pragma once
// Errors thrown at the engine boundary. Each message says what went wrong and,
// where it can, what the user should do about it; the binding turns them into
// JavaScript Errors with the `code` attached.
#include <sstream>
#include <stdexcept>
#include <string>

namespace snapkv {

enum class ErrorCode {
  InvalidFile,        // not a GGUF file, truncated, inconsistent offsets
  UnsupportedModel,   // architecture, tensor type or shape we do not run
  InvalidArgument,    // bad token id, bad option value
  CapacityExceeded,   // KV cache too small for the request
  OutOfMemory,
  Cancelled,
  Io,
  BackendUnavailable, // the requested backend is not in this build or has no device
};

const char* error_code_name(ErrorCode code);

class EngineError : public std::runtime_error {
 public:
  EngineError(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Builds a message from streamable parts: fail(ErrorCode::InvalidFile, "bad ", n).
template <typename... Parts>
[[noreturn]] void fail(ErrorCode code, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw EngineError(code, message.str());
}

}  // namespace snapkv
