#include <torch/extension.h>

torch::Tensor rmsnorm_forward(torch::Tensor x, torch::Tensor weight, double eps);
torch::Tensor rotary_forward(torch::Tensor q, torch::Tensor cos, torch::Tensor sin);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("rmsnorm_forward", &rmsnorm_forward, "fused RMSNorm (CUDA)");
  m.def("rotary_forward", &rotary_forward, "rotary embedding (CUDA)");
}
