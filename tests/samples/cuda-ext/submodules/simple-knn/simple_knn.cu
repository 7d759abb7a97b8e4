// k-nearest-neighbour kernel (vendored)
__global__ void knn_kernel() {}
