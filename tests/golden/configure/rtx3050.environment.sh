# Written by tfbuild configure: the environment build and smoke-test use.
# Use it in a shell with: . environment.sh
export PATH=/media/workspace/cuda1204/instdir/bin:/media/workspace/clang17/instdir/bin:/usr/local/bin:/usr/bin:/bin
export LD_LIBRARY_PATH=/media/workspace/clang17/instdir/lib/x86_64-unknown-linux-gnu:/media/workspace/cuda1204/instdir/lib64:/media/workspace/cuda1204/instdir/extras/CUPTI/lib64:/media/workspace/cudnn0910/instdir/lib
export XLA_FLAGS=--xla_gpu_cuda_data_dir=/media/workspace/cuda1204/instdir
export TF_ENABLE_ONEDNN_OPTS=0
export PYTHON_BIN_PATH=/usr/bin/python3
