#pragma once
// What CUDA this build has and what device it sees, without CUDA types.
#include <cstddef>
#include <string>

namespace snapkv {

struct CudaProbe {
  bool compiled = false;  // the build included kernels/
  int device_count = 0;
  bool usable = false;    // a kernel ran and wrote what it should on device 0
  std::string device_name;
  std::size_t total_memory = 0;
  std::string message;    // why CUDA is not usable, when it is not
};

CudaProbe probe_cuda();

}  // namespace snapkv
