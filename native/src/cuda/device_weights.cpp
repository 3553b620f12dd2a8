#include "cuda/device_weights.h"

#include <algorithm>
#include <string>

#include "common/engine_error.h"
#include "cuda_check.h"
#include "engine/device_weight_layout.h"
#include "weight_formats.h"

namespace snapkv::cuda {

DeviceWeights::DeviceWeights(const ModelWeights& weights, const ModelConfig& config,
                             std::shared_ptr<MemoryBudget> budget, cudaStream_t stream)
    : budget_(std::move(budget)), token_embedding_data_(weights.token_embedding.data) {
  token_embedding = upload_matrix(weights.token_embedding, "the token embedding", stream);
  layers.resize(weights.layers.size());
  for (std::size_t l = 0; l < weights.layers.size(); ++l) {
    const LayerWeights& w = weights.layers[l];
    DeviceLayer& d = layers[l];
    d.attn_norm = upload_vector(w.attn_norm, "attention norm", stream);
    d.wq = upload_matrix(w.wq, "attn_q", stream);
    d.wk = upload_matrix(w.wk, "attn_k", stream);
    d.wv = upload_matrix(w.wv, "attn_v", stream);
    d.wo = upload_matrix(w.wo, "attn_output", stream);
    if (config.qkv_bias) {
      d.bq = upload_vector(w.bq, "attn_q bias", stream);
      d.bk = upload_vector(w.bk, "attn_k bias", stream);
      d.bv = upload_vector(w.bv, "attn_v bias", stream);
    }
    d.ffn_norm = upload_vector(w.ffn_norm, "ffn norm", stream);
    d.w_gate = upload_matrix(w.w_gate, "ffn_gate", stream);
    d.w_up = upload_matrix(w.w_up, "ffn_up", stream);
    d.w_down = upload_matrix(w.w_down, "ffn_down", stream);
  }
  output_norm = upload_vector(weights.output_norm, "output norm", stream);
  output_data_ = weights.output.data;
  output = weights.output.data == weights.token_embedding.data ? token_embedding
                                                               : upload_matrix(weights.output, "output", stream);
  gpu::check_cuda(cudaStreamSynchronize(stream), "uploading the weights");
  raw_staging_ = Allocation();
}

gpu::DeviceMatrix DeviceWeights::upload_matrix(const WeightMatrix& matrix, const char* name, cudaStream_t stream) {
  gpu::DeviceMatrix d;
  d.rows = matrix.rows;
  d.cols = matrix.cols;
  const std::size_t elements = static_cast<std::size_t>(matrix.rows) * matrix.cols;
  // Only the layers' matrices go through GEMMs (the logits use matvec).
  if (matrix.data != token_embedding_data_ && matrix.data != output_data_) largest_ = std::max(largest_, elements);
  const std::string what = std::string("the model's weights (") + name + ")";
  // Refuses a type the kernels do not read before anything is allocated.
  const DeviceMatrixLayout layout = device_matrix_layout(matrix.type, matrix.rows, matrix.cols, name);
  d.type = layout.kernel_type;
  if (layout.data_bytes != matrix.bytes() && !layout.repacked) {
    fail(ErrorCode::InvalidFile, name, ": ", matrix.bytes(), " bytes for a ", ggml_type_name(matrix.type), " matrix of ",
         matrix.rows, " x ", matrix.cols, " (expected ", layout.data_bytes, ")");
  }
  Allocation stored(budget_, MemoryKind::Device, layout.total_bytes, what);
  if (layout.repacked) {  // Q8_0
    if (raw_staging_.bytes() < matrix.bytes()) {
      gpu::check_cuda(cudaStreamSynchronize(stream), "uploading the weights");
      raw_staging_ = Allocation();
      raw_staging_ = Allocation(budget_, MemoryKind::Device, matrix.bytes(), "uploading the weights");
    }
    gpu::check_cuda(cudaMemcpyAsync(raw_staging_.get(), matrix.data, matrix.bytes(), cudaMemcpyHostToDevice, stream),
                    "uploading a Q8_0 matrix");
    auto* quants = stored.as<std::uint8_t>();
    void* scales = quants + layout.scales_offset;
    gpu::repack_q8_0(raw_staging_.get(), matrix.rows, matrix.cols, quants, scales, stream);
    // The staging buffer is reused by the next matrix: this one must be repacked first.
    gpu::check_cuda(cudaStreamSynchronize(stream), "repacking a Q8_0 matrix");
    d.data = quants;
    d.scales = scales;
  } else {
    // F32, F16, BF16 and the other block types: the file's bytes as they are.
    gpu::check_cuda(cudaMemcpyAsync(stored.get(), matrix.data, matrix.bytes(), cudaMemcpyHostToDevice, stream),
                    "uploading a weight matrix");
    d.data = stored.get();
  }
  bytes_ += stored.bytes();
  allocations_.push_back(std::move(stored));
  gpu::check_device_matrix(d, name);
  return d;
}

const float* DeviceWeights::upload_vector(const std::vector<float>& values, const char* name, cudaStream_t stream) {
  Allocation data(budget_, MemoryKind::Device, values.size() * sizeof(float),
                  std::string("the model's weights (") + name + ")");
  gpu::check_cuda(cudaMemcpyAsync(data.get(), values.data(), data.bytes(), cudaMemcpyHostToDevice, stream),
                  "uploading a vector");
  const auto* pointer = data.as<const float>();
  bytes_ += data.bytes();
  allocations_.push_back(std::move(data));
  return pointer;
}

}  // namespace snapkv::cuda
