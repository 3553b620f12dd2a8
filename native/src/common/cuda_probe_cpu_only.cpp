// Linked when the build found no CUDA compiler.
#include "common/cuda_probe.h"

namespace snapkv {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.message = "this build has no CUDA kernels (nvcc was not found when it was built); the CPU backend is used";
  return probe;
}

}  // namespace snapkv
