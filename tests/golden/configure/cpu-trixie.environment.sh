# Written by tfbuild configure: the environment build and smoke-test use.
# Use it in a shell with: . environment.sh
export PATH=/usr/lib/llvm-17/bin:/usr/local/bin:/usr/bin:/bin
export TF_ENABLE_ONEDNN_OPTS=0
export PYTHON_BIN_PATH=/usr/bin/python3
