#include <torch/extension.h>
#include <cuda_runtime.h>

template <typename scalar_t>
__global__ void rmsnorm_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ w,
                               scalar_t* __restrict__ out, int cols, float eps) {
  int row = blockIdx.x;
  float sum = 0.f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float v = static_cast<float>(x[row * cols + c]);
    sum += v * v;
  }
  __shared__ float total;
  if (threadIdx.x == 0) total = 0.f;
  __syncthreads();
  atomicAdd(&total, sum);
  __syncthreads();
  float scale = rsqrtf(total / cols + eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    out[row * cols + c] = static_cast<scalar_t>(static_cast<float>(x[row * cols + c]) * scale *
                                                static_cast<float>(w[c]));
  }
}

torch::Tensor rmsnorm_forward(torch::Tensor x, torch::Tensor weight, double eps) {
  auto out = torch::empty_like(x);
  int rows = x.size(0), cols = x.size(1);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "rmsnorm", [&] {
    rmsnorm_kernel<scalar_t><<<rows, 256>>>(x.data_ptr<scalar_t>(), weight.data_ptr<scalar_t>(),
                                             out.data_ptr<scalar_t>(), cols, eps);
  });
  return out;
}
