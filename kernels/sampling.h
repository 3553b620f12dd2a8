#pragma once
// Picking the next token on the device, from logits already there: greedy,
// or temperature / top-k / top-p with a uniform random number drawn by the
// host, so that the CPU sampler with the same number is the reference.
#include <cuda_runtime_api.h>

#include <cstddef>

namespace snapkv::gpu {

struct DeviceSampling {
  float temperature = 0.0f;  // 0: greedy (the lowest id among equal maxima)
  int top_k = 0;             // 0 or >= vocab: no limit
  float top_p = 1.0f;        // 1: no limit
};

// Writes the chosen id to *token (device memory). The rule is the CPU
// sampler's (sampling/sampler.cpp): candidates in order of logit (higher
// first, equal logits by lower id); the first top_k of them; weights
// exp((logit - max) / temperature) in double; the shortest prefix whose
// weight reaches top_p of the total; then the first candidate at which the
// running weight exceeds uniform * (the prefix's total). `uniform` in [0, 1)
// is what the CPU sampler's generator would draw (generate_canonical).
// One block of 1024 threads, radix selections over (logit, id) keys; no sort.
// `workspace`: sampling_workspace_bytes(vocab) bytes.
void sample_token(const float* logits, int vocab, const DeviceSampling& options, double uniform, void* workspace,
                  int* token, cudaStream_t stream);

std::size_t sampling_workspace_bytes(int vocab);

}  // namespace snapkv::gpu
