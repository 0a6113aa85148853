"""Downloads tfbuild makes itself (bazelisk, prefetched archives): mirror order, resumable and
verified transfers, and where Bazel finds the files without the network."""
