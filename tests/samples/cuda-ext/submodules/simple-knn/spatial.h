#include <torch/extension.h>
torch::Tensor distCUDA2(const torch::Tensor& points);
