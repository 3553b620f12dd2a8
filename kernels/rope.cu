#include "rope.h"

#include "device_common.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 128;
constexpr int kMaxPairs = 256;

// One block per row: the row's cos/sin table (one double-precision sincos per
// pair, shared by all heads of the row) in shared memory, then every pair of
// every head rotated by one thread, which reads both inputs before writing,
// so the update can be in place.
template <typename OutT>
__global__ void __launch_bounds__(kThreads) rope_kernel(RopeJob job) {
  __shared__ float cos_table[kMaxPairs];
  __shared__ float sin_table[kMaxPairs];
  const int pairs = job.head_dim / 2;
  OutT* out = static_cast<OutT*>(job.out);
  for (int t = blockIdx.x; t < job.rows; t += gridDim.x) {
    if (job.rotate) {
      const double position = static_cast<double>(job.positions[t]);
      for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
        const double inv_freq = pow(static_cast<double>(job.freq_base), -2.0 * i / job.head_dim);
        double s, c;
        sincos(position * inv_freq, &s, &c);
        cos_table[i] = static_cast<float>(c);
        sin_table[i] = static_cast<float>(s);
      }
      __syncthreads();
    }
    const float* in_row = job.in + static_cast<std::size_t>(t) * job.in_row_stride;
    OutT* out_row = out + static_cast<std::size_t>(t) * job.out_row_stride;
    for (int k = threadIdx.x; k < job.heads * pairs; k += blockDim.x) {
      const int h = k / pairs, i = k % pairs;
      const bool adjacent = job.adjacent_pairs;
      const int a = adjacent ? 2 * i : i;
      const int b = adjacent ? 2 * i + 1 : i + pairs;
      const float* v = in_row + static_cast<std::size_t>(h) * job.head_dim;
      float x0 = v[a], x1 = v[b];
      if (job.bias != nullptr) {
        x0 += job.bias[h * job.head_dim + a];
        x1 += job.bias[h * job.head_dim + b];
      }
      float y0 = x0, y1 = x1;
      if (job.rotate) {
        y0 = x0 * cos_table[i] - x1 * sin_table[i];
        y1 = x0 * sin_table[i] + x1 * cos_table[i];
      }
      OutT* o = out_row + static_cast<std::size_t>(h) * job.out_head_stride;
      o[a] = from_f32<OutT>(y0);
      o[b] = from_f32<OutT>(y1);
    }
    if (job.rotate) __syncthreads();  // the table is rewritten for the next row
  }
}

}  // namespace

void rope(const RopeJob& job, cudaStream_t stream) {
  if (job.rows < 0 || job.heads <= 0) fail(Failure::InvalidArgument, "rope: ", job.rows, " rows of ", job.heads, " heads");
  if (job.head_dim <= 0 || job.head_dim % 2 != 0 || job.head_dim > 2 * kMaxPairs) {
    fail(Failure::InvalidArgument, "rope: head_dim must be even and at most ", 2 * kMaxPairs, ", got ", job.head_dim);
  }
  if (job.rows == 0) return;
  if (job.in == nullptr || job.out == nullptr || (job.rotate && job.positions == nullptr)) {
    fail(Failure::InvalidArgument, "rope: null buffer");
  }
  if (!(job.freq_base > 0.0f)) fail(Failure::InvalidArgument, "rope: freq_base must be positive");
  const std::size_t row_width = static_cast<std::size_t>(job.heads) * job.head_dim;
  if (job.in_row_stride < row_width) fail(Failure::InvalidArgument, "rope: input rows overlap");
  if (job.out_head_stride < static_cast<std::size_t>(job.head_dim)) fail(Failure::InvalidArgument, "rope: output heads overlap");
  if (job.out == job.in && (job.out_type != DType::F32 || job.out_row_stride != job.in_row_stride ||
                            job.out_head_stride != static_cast<std::size_t>(job.head_dim))) {
    fail(Failure::InvalidArgument, "rope: in place needs f32 output with the input's layout");
  }
  const unsigned int grid = static_cast<unsigned int>(job.rows < 65536 ? job.rows : 65536);
  switch (job.out_type) {
    case DType::F32: rope_kernel<float><<<grid, kThreads, 0, stream>>>(job); break;
    case DType::F16: rope_kernel<__half><<<grid, kThreads, 0, stream>>>(job); break;
    case DType::BF16: rope_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(job); break;
  }
  check_launch("rope");
}

}  // namespace snapkv::gpu
