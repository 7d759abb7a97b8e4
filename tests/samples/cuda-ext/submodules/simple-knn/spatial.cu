#include "spatial.h"
torch::Tensor distCUDA2(const torch::Tensor& points) { return points.norm(2, -1); }
