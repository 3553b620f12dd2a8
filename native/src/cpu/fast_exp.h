#pragma once
// Vectorised exponentials for softmax.
namespace snapkv {

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results.
// Accurate to a few ulp of f32 (range reduction by ln2 plus a degree-6
// polynomial), so softmax needs no std::exp per score.
float exp_shifted_in_place(float* x, int n, float shift);

}  // namespace snapkv
