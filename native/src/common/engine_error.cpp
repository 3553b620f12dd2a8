#include "common/engine_error.h"

namespace snapkv {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidFile: return "INVALID_FILE";
    case ErrorCode::UnsupportedModel: return "UNSUPPORTED_MODEL";
    case ErrorCode::InvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::CapacityExceeded: return "CAPACITY_EXCEEDED";
    case ErrorCode::OutOfMemory: return "OUT_OF_MEMORY";
    case ErrorCode::Cancelled: return "CANCELLED";
    case ErrorCode::Io: return "IO_ERROR";
    case ErrorCode::BackendUnavailable: return "BACKEND_UNAVAILABLE";
  }
  return "UNKNOWN";
}

}  // namespace snapkv
