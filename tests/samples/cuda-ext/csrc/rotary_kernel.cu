#include <torch/extension.h>

torch::Tensor rotary_forward(torch::Tensor q, torch::Tensor cos, torch::Tensor sin) {
  auto half = q.size(-1) / 2;
  auto q1 = q.narrow(-1, 0, half), q2 = q.narrow(-1, half, half);
  return torch::cat({q1 * cos - q2 * sin, q1 * sin + q2 * cos}, -1);
}
