#include "cpu/kernel_choice.h"

#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

#include "common/engine_error.h"

namespace snapkv {

namespace {

#if defined(__x86_64__) || defined(_M_X64)
// F16C and FMA from cpuid leaf 1 itself: clang's __builtin_cpu_supports does
// not know the names "f16c" and "fma".
bool has_f16c_and_fma() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_F16C) != 0 && (ecx & bit_FMA) != 0;
}

// AVX-VNNI (the VEX-encoded vpdpbusd): cpuid leaf 7, subleaf 1, EAX bit 4.
bool has_avx_vnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax & (1u << 4)) != 0;
}
#endif

bool cpu_runs(const std::string& name) {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (name == "avx512bf16") return cpu_runs("avx512vnni") && __builtin_cpu_supports("avx512bf16");
  if (name == "avx512vnni") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni") &&
           has_f16c_and_fma();
  }
  if (name == "avxvnni") return cpu_runs("avx2") && has_avx_vnni();
  if (name == "avx2") {
    return __builtin_cpu_supports("avx2") && has_f16c_and_fma();
  }
#endif
  return name == "portable";
}

const QuantKernels* compiled(const std::string& name) {
  if (name == "avx512bf16") return avx512bf16_quant_kernels();
  if (name == "avx512vnni") return avx512vnni_quant_kernels();
  if (name == "avxvnni") return avxvnni_quant_kernels();
  if (name == "avx2") return avx2_quant_kernels();
  if (name == "portable") return portable_quant_kernels();
  return nullptr;
}

const QuantKernels& choose() {
  const char* forced = std::getenv("SNAPKV_CPU_KERNELS");
  if (forced != nullptr && *forced != '\0') {
    const QuantKernels* kernels = quant_kernels_named(forced);
    if (kernels == nullptr) {
      std::string known;
      for (const std::string& name : quant_kernel_names()) known += (known.empty() ? "" : ", ") + name;
      fail(ErrorCode::InvalidArgument, "SNAPKV_CPU_KERNELS='", forced, "' is not a kernel set this CPU runs (",
           "known: ", known, ")");
    }
    return *kernels;
  }
  for (const std::string& name : quant_kernel_names()) {
    if (const QuantKernels* kernels = quant_kernels_named(name)) return *kernels;
  }
  return *portable_quant_kernels();
}

}  // namespace

const std::vector<std::string>& quant_kernel_names() {
  static const std::vector<std::string> names = {"avx512bf16", "avx512vnni", "avxvnni", "avx2", "portable"};
  return names;
}

const QuantKernels* quant_kernels_named(const std::string& name) {
  return cpu_runs(name) ? compiled(name) : nullptr;
}

const QuantKernels& active_quant_kernels() {
  static const QuantKernels& kernels = choose();
  return kernels;
}

}  // namespace snapkv
