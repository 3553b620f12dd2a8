#pragma once
// Whether device 0 runs this build's kernels: a test kernel is launched and
// its output read back. Plain fields, no CUDA types; the engine reports them
// as its CudaProbe (native/src/cuda/cuda_probe.cpp).
#include <cstddef>
#include <string>

namespace snapkv::gpu {

struct DeviceProbe {
  int device_count = 0;
  bool usable = false;  // a kernel ran and wrote what it should on device 0
  std::string device_name;
  std::size_t total_memory = 0;
  std::string message;  // why the device is not usable, when it is not
};

DeviceProbe probe_device();

}  // namespace snapkv::gpu
