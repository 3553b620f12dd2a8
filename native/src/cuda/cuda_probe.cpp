// probe_cuda() in a build with CUDA: the kernels' own probe of device 0.
#include "common/cuda_probe.h"
#include "device_probe.h"

namespace snapkv {

CudaProbe probe_cuda() {
  const gpu::DeviceProbe device = gpu::probe_device();
  CudaProbe probe;
  probe.compiled = true;
  probe.device_count = device.device_count;
  probe.usable = device.usable;
  probe.device_name = device.device_name;
  probe.total_memory = device.total_memory;
  probe.message = device.message;
  return probe;
}

}  // namespace snapkv
