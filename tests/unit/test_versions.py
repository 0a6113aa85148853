from tfbuild import versions


def test_tool_outputs():
    assert versions.clang("Debian clang version 16.0.6 (15~deb12u1)\nTarget: x86_64") == "16.0.6"
    assert versions.clang("clang version 17.0.6 (https://github.com/llvm/llvm-project 6009708b)") == "17.0.6"
    assert versions.gcc("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright") == "12.2.0"
    assert versions.lld("Debian LLD 16.0.6 (compatible with GNU linkers)") == "16.0.6"
    assert versions.bazel("bazel 6.5.0\n") == "6.5.0"
    assert versions.bazel("bazel no_version\n") is None
    nvcc = ("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 12.4, "
            "V12.4.131\nBuild cuda_12.4.r12.4/compiler.34097967_0")
    assert versions.cuda_tools(nvcc) == "12.4.131"
    assert versions.patchelf("patchelf 0.14.3") == "0.14.3"


def test_files():
    assert versions.cuda_version_json('{"cuda": {"name": "CUDA SDK", "version": "12.4.0"}}') == "12.4.0"
    assert versions.cuda_version_json("not json") is None
    header = "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 10\n#define CUDNN_PATCHLEVEL 2\n"
    assert versions.cudnn_header(header) == "9.10.2"
    assert versions.cudnn_header("#define CUDNN_MAJOR 9\n") is None
    tf = ("#define TF_MAJOR_VERSION 2\n#define TF_MINOR_VERSION 18\n#define TF_PATCH_VERSION 1\n"
          '#define TF_VERSION_SUFFIX ""\n')
    assert versions.tf_version_header(tf) == "2.18.1"


def test_xyz_and_major_minor():
    assert versions.is_xyz("12.4.0") and not versions.is_xyz("12.4") and not versions.is_xyz("12.4.0.1")
    assert versions.major_minor("12.4.131") == "12.4"
    assert versions.major_minor("garbage") is None
