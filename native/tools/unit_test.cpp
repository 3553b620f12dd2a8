// snapkv-unit-test: checks of the engine's host-side rules that need no
// model and no GPU (the device memory budget, where a cache is placed, byte
// formatting, the weight block formats, the KV row types, the thread pool, the device layout of weight matrices). Prints one line per check and exits non-zero on a failure;
// test/native-unit.test.ts runs it.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/engine_error.h"
#include "common/memory_budget.h"
#include "engine/device_weight_layout.h"
#include "engine/kv_placement.h"
#include "engine/one_shot_plan.h"
#include "unit_test_attention.h"
#include "unit_test_bf16_rows.h"
#include "unit_test_kv_rows.h"
#include "unit_test_thread_pool.h"
#include "unit_test_fast_kernels.h"
#include "unit_test_weight_blocks.h"

namespace {

using namespace snapkv;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kGiB = std::size_t{1} << 30;

struct Failure {
  std::string what;
};

void expect(bool condition, const std::string& what) {
  if (!condition) throw Failure{what};
}

template <typename Body>
std::string expect_error(ErrorCode code, Body body) {
  try {
    body();
  } catch (const EngineError& error) {
    expect(error.code() == code, std::string("error code ") + error_code_name(error.code()) + ", expected " +
                                     error_code_name(code) + ": " + error.what());
    return error.what();
  }
  throw Failure{"no error was thrown"};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Qwen2.5-Coder-7B's shape.
ModelConfig qwen_7b() {
  ModelConfig c;
  c.architecture = "qwen2";
  c.layers = 28;
  c.hidden = 3584;
  c.heads = 28;
  c.kv_heads = 4;
  c.head_dim = 128;
  c.ffn = 18944;
  c.vocab = 152064;
  return c;
}

OneShotSizes test_sizes() {
  OneShotSizes sizes;
  sizes.chunk_scratch = kGiB;
  sizes.score_workspace = kMiB;
  sizes.kv_row_bytes = 128 * 2;  // head_dim 128 in bf16
  return sizes;
}

const std::vector<std::pair<std::string, std::function<void()>>> kChecks = {
    {"device weight layout: the quantized types stay in their file blocks, Q8_0 is split into quants and scales",
     [] {
       // Bytes per block from the GGUF format: 32 values in 18 / 20 / 22 / 24 / 34 bytes,
       // 256 in 84 / 110 / 144 / 176 / 210 bytes.
       const struct {
         GgmlType type;
         int cols;
         std::size_t row_bytes;
       } cases[] = {{GgmlType::Q4_0, 896, 28 * 18},   {GgmlType::Q4_1, 896, 28 * 20}, {GgmlType::Q5_0, 896, 28 * 22},
                    {GgmlType::Q5_1, 896, 28 * 24},   {GgmlType::Q2_K, 1536, 6 * 84}, {GgmlType::Q3_K, 1536, 6 * 110},
                    {GgmlType::Q4_K, 1536, 6 * 144},  {GgmlType::Q5_K, 1536, 6 * 176}, {GgmlType::Q6_K, 1536, 6 * 210},
                    {GgmlType::F32, 100, 400},        {GgmlType::F16, 100, 200},      {GgmlType::BF16, 100, 200}};
       for (const auto& c : cases) {
         const DeviceMatrixLayout layout = device_matrix_layout(c.type, 3, c.cols, "w");
         const std::string what = ggml_type_name(c.type) + " " + std::to_string(c.cols);
         expect(gpu_reads_weight_type(c.type), what + " is read by the GPU");
         expect(!layout.repacked && layout.scales_bytes == 0, what + ": stays as stored");
         expect(layout.data_bytes == 3 * c.row_bytes && layout.total_bytes == layout.data_bytes,
                what + ": " + std::to_string(layout.data_bytes) + " bytes");
       }
       // Q8_0: int8 quants, then the f16 scales from the next 16-byte boundary.
       const DeviceMatrixLayout q8 = device_matrix_layout(GgmlType::Q8_0, 3, 96, "w");
       expect(q8.repacked && q8.data_bytes == 288 && q8.scales_offset == 288 && q8.scales_bytes == 18 && q8.total_bytes == 306,
              "Q8_0 3 x 96");
       const DeviceMatrixLayout q8_odd = device_matrix_layout(GgmlType::Q8_0, 1, 32, "w");
       expect(q8_odd.scales_offset == 32 && q8_odd.total_bytes == 34, "Q8_0 1 x 32");
     }},
    {"device weight layout: rows of whole blocks only, and the types the kernels do not read are refused by name",
     [] {
       std::string message = expect_error(ErrorCode::InvalidArgument, [] { device_matrix_layout(GgmlType::Q4_K, 2, 896, "blk.0.ffn_down"); });
       expect(contains(message, "blk.0.ffn_down") && contains(message, "896") && contains(message, "256"), message);
       message = expect_error(ErrorCode::InvalidArgument, [] { device_matrix_layout(GgmlType::Q5_0, 2, 100, "w"); });
       expect(contains(message, "Q5_0") && contains(message, "32"), message);
       expect_error(ErrorCode::InvalidArgument, [] { device_matrix_layout(GgmlType::F16, 0, 64, "w"); });
       for (GgmlType type : {GgmlType::Q8_1, GgmlType::Q8_K}) {
         expect(!gpu_reads_weight_type(type), ggml_type_name(type) + " is not read by the GPU");
         message = expect_error(ErrorCode::UnsupportedModel, [&] { device_matrix_layout(type, 2, 256, "output"); });
         expect(contains(message, "output") && contains(message, ggml_type_name(type)) && contains(message, "cpu"), message);
       }
     }},
    {"the kernels' weight types and block shapes (kernels/gpu_types.h) are the GGUF reader's, one for one",
     [] {
       std::vector<gpu::WeightType> reached;
       for (std::uint32_t id = 0; id < 64; ++id) {
         const std::optional<GgmlTypeTraits> traits = ggml_type_traits(id);
         if (!traits) continue;
         const GgmlType type = static_cast<GgmlType>(id);
         const std::optional<gpu::WeightType> kernel = gpu_weight_type(type);
         if (!kernel) continue;
         reached.push_back(*kernel);
         const gpu::BlockShape shape = gpu::block_shape(*kernel);
         const std::string what = ggml_type_name(type) + " as " + gpu::weight_type_name(*kernel);
         expect(std::string(gpu::weight_type_name(*kernel)) == ggml_type_name(type), what);
         expect(static_cast<std::size_t>(shape.values) == traits->block_elements &&
                    static_cast<std::size_t>(shape.bytes) == traits->block_bytes,
                what + ": block of " + std::to_string(shape.values) + " values in " + std::to_string(shape.bytes) +
                    " bytes, the file's " + std::to_string(traits->block_elements) + " in " +
                    std::to_string(traits->block_bytes));
       }
       for (gpu::WeightType kernel : gpu::kWeightTypes) {
         expect(std::count(reached.begin(), reached.end(), kernel) == 1,
                std::string(gpu::weight_type_name(kernel)) + " is the kernels' name of exactly one file type");
       }
     }},
    {"format_bytes picks the unit",
     [] {
       expect(format_bytes(12) == "12 bytes", format_bytes(12));
       expect(format_bytes(4096) == "4.0 KiB", format_bytes(4096));
       expect(format_bytes(312 * kMiB + kMiB / 2) == "312.5 MiB", format_bytes(312 * kMiB + kMiB / 2));
       expect(format_bytes(3 * kGiB / 2) == "1.50 GiB", format_bytes(3 * kGiB / 2));
     }},
    {"the default budget leaves 5% of the device, at least 512 MiB",
     [] {
       expect(default_memory_budget(70 * kGiB, 80 * kGiB) == 70 * kGiB - 4 * kGiB, "80 GiB device");
       expect(default_memory_budget(6 * kGiB, 8 * kGiB) == 6 * kGiB - 512 * kMiB, "8 GiB device");
       expect(default_memory_budget(256 * kMiB, 8 * kGiB) == 0, "nearly full device");
     }},
    {"reserve and release count what is in use",
     [] {
       MemoryBudget budget("Test GPU", kGiB);
       budget.reserve(600 * kMiB, "weights");
       expect(budget.in_use() == 600 * kMiB && budget.available() == 424 * kMiB, "after reserve");
       budget.reserve(424 * kMiB, "a cache");
       expect(budget.available() == 0, "full");
       budget.release(424 * kMiB);
       budget.release(600 * kMiB);
       expect(budget.in_use() == 0, "after release");
       budget.release(kMiB);  // more than in use: clamps, never wraps
       expect(budget.in_use() == 0 && budget.available() == kGiB, "after over-release");
     }},
    {"a reservation past the budget is an OutOfMemory error with the sizes and what to do",
     [] {
       MemoryBudget budget("Test GPU (sm_90)", kGiB);
       budget.reserve(900 * kMiB, "weights");
       const std::string message =
           expect_error(ErrorCode::OutOfMemory, [&] { budget.reserve(200 * kMiB, "a KV cache of 4096 tokens"); });
       expect(contains(message, "a KV cache of 4096 tokens"), message);
       expect(contains(message, "200.0 MiB"), message);
       expect(contains(message, "124.0 MiB"), message);
       expect(contains(message, "1.00 GiB"), message);
       expect(contains(message, "Test GPU (sm_90)"), message);
       expect(contains(message, "backend 'cpu'"), message);
       expect(budget.in_use() == 900 * kMiB, "a refused reservation takes nothing");
     }},
    {"fits keeps a margin free",
     [] {
       MemoryBudget budget("Test GPU", kGiB);
       expect(budget.fits(kGiB), "exactly the budget");
       expect(!budget.fits(kGiB + 1), "one byte over");
       expect(budget.fits(512 * kMiB, 512 * kMiB), "margin exactly left");
       expect(!budget.fits(512 * kMiB, 512 * kMiB + 1), "margin one byte short");
     }},
    {"a prompt cache goes to the device when it fits with working memory to spare, else to pinned host memory",
     [] {
       MemoryBudget budget("Test GPU", 10 * kGiB);
       budget.reserve(4 * kGiB, "weights");
       expect(choose_kv_placement(budget, 2 * kGiB, kGiB, true) == KvPlacement::Device, "small prefix");
       expect(choose_kv_placement(budget, 5 * kGiB, kGiB, true) == KvPlacement::Device, "prefix with exact margin");
       expect(choose_kv_placement(budget, 5 * kGiB + 1, kGiB, true) == KvPlacement::PinnedHost, "margin short");
       expect(choose_kv_placement(budget, 7 * kGiB, kGiB, true) == KvPlacement::PinnedHost, "prefix past the budget");
     }},
    {"a compact cache stays on the device, where a reservation that does not fit fails with the sizes",
     [] {
       MemoryBudget budget("Test GPU", 10 * kGiB);
       budget.reserve(9 * kGiB, "weights");
       expect(choose_kv_placement(budget, 512 * kMiB, kGiB, false) == KvPlacement::Device, "fits without margin");
       expect(choose_kv_placement(budget, 2 * kGiB, kGiB, false) == KvPlacement::Device, "does not fit");
       expect_error(ErrorCode::OutOfMemory, [&] { budget.reserve(2 * kGiB, "a compact cache"); });
     }},
    {"one-shot memory grows by each prompt token's hidden state, keys, values and scores",
     [] {
       const ModelConfig c = qwen_7b();
       const SnapKvParams params;  // window 32, budget 2048, mean over the GQA group
       const long long length = 1 << 20;
       const OneShotMemory m = one_shot_memory(c, params, 1024, length, test_sizes());
       // f32 hidden state + token id + position; bf16 keys and values of 4 KV heads of 128; two f32 score rows per KV head.
       const std::size_t per_token = 3584 * 4 + 8 + 2 * 4 * 128 * 2 + 2 * 4 * 4;
       const OneShotMemory more = one_shot_memory(c, params, 1024, length + 1000, test_sizes());
       expect(more.total() - m.total() == 1000 * per_token, "per-token growth " + std::to_string(more.total() - m.total()));
       expect(m.layer_kv == static_cast<std::size_t>(length) * 2048, "one layer's keys and values");
       expect(m.compact == std::size_t{28} * 2 * 4 * (2048 + 1024) * 128 * 2, "compact cache");
       expect(m.working == kGiB + 152064 * 4 + 2048 * (3584 * 4 + 8), "working buffers");
     }},
    {"a prompt within the budget keeps everything and scores nothing",
     [] {
       const ModelConfig c = qwen_7b();
       const SnapKvParams params;
       const OneShotMemory m = one_shot_memory(c, params, 0, 1000, test_sizes());
       expect(m.selection == std::size_t{4} * 1000 * 8, "kept positions and scores only");
       expect(m.hidden == 0, "a prompt within a chunk uses the reusable row buffers");
       expect(m.compact == std::size_t{28} * 2 * 4 * 1001 * 128 * 2, "room for the prompt and one token");
     }},
    {"the longest one-shot prompt is the last length that fits; the 7B shape passes 1M tokens on an 80 GB card",
     [] {
       const ModelConfig c = qwen_7b();
       const SnapKvParams params;
       // An 80 GiB card less the default reserve (5%) and the bf16 weights (15.2 GB).
       const std::size_t available = default_memory_budget(80 * kGiB, 80 * kGiB) - std::size_t{15'230'000'000};
       const long long longest = longest_one_shot(c, params, 1024, test_sizes(), available, 1LL << 31);
       expect(one_shot_memory(c, params, 1024, longest, test_sizes()).total() <= available, "the longest fits");
       expect(one_shot_memory(c, params, 1024, longest + 1, test_sizes()).total() > available, "one more does not");
       expect(longest > (1 << 20), "longest " + std::to_string(longest));
       std::printf("INFO 7B one-shot on an 80 GiB card (bf16 weights): longest prompt %lld tokens\n", longest);
       expect(longest_one_shot(c, params, 1024, test_sizes(), kMiB, 1LL << 31) == 0, "nothing fits in 1 MiB");
       expect(longest_one_shot(c, params, 1024, test_sizes(), available, 5000) == 5000, "capped by the limit");
     }},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "decode") return snapkv_unit::decode_blocks_command(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "kernels") return snapkv_unit::kernels_command();
  std::vector<std::pair<std::string, std::function<void()>>> checks = kChecks;
  for (auto& check : snapkv_unit::weight_block_checks()) checks.push_back(std::move(check));
  for (auto& check : snapkv_unit::kv_row_checks()) checks.push_back(std::move(check));
  for (auto& check : snapkv_unit::attention_checks()) checks.push_back(std::move(check));
  for (auto& check : snapkv_unit::thread_pool_checks()) checks.push_back(std::move(check));
  for (auto& check : snapkv_unit::fast_kernel_checks()) checks.push_back(std::move(check));
  for (auto& check : snapkv_unit::bf16_row_checks()) checks.push_back(std::move(check));
  int failures = 0;
  for (const auto& [name, check] : checks) {
    try {
      check();
      std::printf("PASS %s\n", name.c_str());
    } catch (const Failure& failure) {
      ++failures;
      std::printf("FAIL %s: %s\n", name.c_str(), failure.what.c_str());
    } catch (const std::exception& error) {
      ++failures;
      std::printf("FAIL %s: unexpected exception: %s\n", name.c_str(), error.what());
    }
  }
  std::printf("%zu checks, %d failed\n", checks.size(), failures);
  return failures == 0 ? 0 : 1;
}
