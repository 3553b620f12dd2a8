// snapkv-kernel-test: every CUDA kernel of kernels/ against its CPU reference
// in the engine, on fresh random inputs, without Node.
//
//   snapkv-kernel-test [--seed N] [--only GROUP] [--threads N]
//   snapkv-kernel-test --bench [--repeats N] [--seed N]
//
// Groups: basic (embedding, weight formats, rms_norm, rope, element-wise),
// matrix (matvec, gemm), attention (flash prefill, decode), snapkv (scores,
// pool, top-k, keep-all, gather, whole selection), sampling. Prints one line
// per check (PASS/FAIL, max error, the bound there, err/bound, relative norm)
// and exits 1 if any check fails, 2 if no usable GPU.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "common/engine_error.h"
#include "cuda_check.h"
#include "gemm.h"
#include "harness.h"
#include "matvec.h"

namespace {

using namespace snapkv::kernel_test;

bool parse(int argc, char** argv, Options& options, int& threads) {
  options.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007ull;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--seed") {
      const char* v = value();
      if (v == nullptr) return false;
      options.seed = std::strtoull(v, nullptr, 10);
    } else if (arg == "--bench") {
      options.bench = true;
    } else if (arg == "--repeats") {
      const char* v = value();
      if (v == nullptr) return false;
      options.repeats = std::atoi(v) > 0 ? std::atoi(v) : 1;
    } else if (arg == "--only") {
      const char* v = value();
      if (v == nullptr) return false;
      options.only = v;
    } else if (arg == "--threads") {
      const char* v = value();
      if (v == nullptr) return false;
      threads = std::atoi(v);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  int threads = 0;
  if (!parse(argc, argv, options, threads)) {
    std::fprintf(stderr, "usage: snapkv-kernel-test [--seed N] [--only basic|matrix|attention|snapkv|sampling] [--threads N]\n"
                         "       snapkv-kernel-test --bench [--repeats N] [--seed N]\n");
    return 64;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIP  no usable CUDA device (%s)\n", devices == 0 ? "none found" : cudaGetErrorString(cudaGetLastError()));
    return 2;
  }
  cudaDeviceProp props{};
  cudaGetDeviceProperties(&props, 0);
  std::printf("device 0: %s (sm_%d%d, %d SMs, %.1f GiB)\n", props.name, props.major, props.minor, props.multiProcessorCount,
              props.totalGlobalMem / 1073741824.0);
  std::printf("seed %llu (repeat with --seed %llu)\n", static_cast<unsigned long long>(options.seed),
              static_cast<unsigned long long>(options.seed));
  Context ctx(options);
  ctx.threads = threads;
  try {
    snapkv::gpu::check_cuda(cudaStreamCreate(&ctx.stream), "cudaStreamCreate");
  } catch (const std::exception& e) {
    std::printf("FAIL  cannot create a stream: %s\n", e.what());
    return 1;
  }
  if (options.bench) {
    try {
      run_benchmarks(ctx);
    } catch (const std::exception& e) {
      std::printf("FAIL  bench stopped: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  struct Group {
    const char* name;
    void (*run)(Context&);
  };
  const Group groups[] = {{"basic", check_basic_kernels},
                          {"matrix", check_matrix_kernels},
                          {"attention", check_attention_kernels},
                          {"snapkv", check_snapkv_kernels},
                          {"sampling", check_sampling_kernels}};
  for (const Group& g : groups) {
    if (!options.only.empty() && std::string(g.name).find(options.only) == std::string::npos) continue;
    const auto start = std::chrono::steady_clock::now();
    try {
      g.run(ctx);
      ctx.sync();
    } catch (const snapkv::EngineError& e) {
      ctx.report.fail(g.name, std::string("stopped by ") + snapkv::error_code_name(e.code()) + ": " + e.what());
    } catch (const snapkv::gpu::CudaError& e) {
      ctx.report.fail(g.name, std::string("stopped by a CUDA failure: ") + e.what());
    } catch (const std::exception& e) {
      ctx.report.fail(g.name, std::string("stopped: ") + e.what());
    }
    std::printf("      (%s: %.1f s)\n", g.name,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Argument checks at the boundary: a bad call throws before any launch.
  try {
    snapkv::gpu::gemm(snapkv::gpu::DType::BF16, nullptr, 7, nullptr, 7, nullptr, 1, 1, 1, 7, false, ctx.stream);
    ctx.report.fail("gemm argument check", "a K of 7 was accepted");
  } catch (const snapkv::gpu::CudaError& e) {
    if (e.kind() != snapkv::gpu::Failure::InvalidArgument) ctx.report.fail("gemm argument check", e.what());
    std::printf("PASS  %-58s %s\n", "argument check (gemm K = 7)", e.what());
  }
  try {  // a K-quant row must be whole 256-value blocks
    const snapkv::gpu::DeviceMatrix partial{snapkv::gpu::WeightType::Q4_K, 2, 896, nullptr, nullptr};
    snapkv::gpu::matvec(partial, nullptr, nullptr, false, ctx.stream);
    ctx.report.fail("matvec argument check", "a Q4_K row of 896 values was accepted");
  } catch (const snapkv::gpu::CudaError& e) {
    if (e.kind() != snapkv::gpu::Failure::InvalidArgument) ctx.report.fail("matvec argument check", e.what());
    std::printf("PASS  %-58s %s\n", "argument check (matvec Q4_K, 896 columns)", e.what());
  }
  cudaStreamDestroy(ctx.stream);
  std::printf("%d checks, %d failed (seed %llu)\n", ctx.report.checks(), ctx.report.failures(),
              static_cast<unsigned long long>(options.seed));
  return ctx.report.failures() == 0 ? 0 : 1;
}
