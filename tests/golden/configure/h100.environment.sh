# Written by tfbuild configure: the environment build and smoke-test use.
# Use it in a shell with: . environment.sh
export PATH=/usr/local/cuda-12.4/bin:/usr/lib/llvm-17/bin:/usr/local/bin:/usr/bin:/bin
export LD_LIBRARY_PATH=/usr/local/cuda-12.4/lib64:/usr/local/cuda-12.4/extras/CUPTI/lib64:/usr/local/cudnn-9.10/lib
export XLA_FLAGS=--xla_gpu_cuda_data_dir=/usr/local/cuda-12.4
export TF_ENABLE_ONEDNN_OPTS=0
export PYTHON_BIN_PATH=/usr/bin/python3
