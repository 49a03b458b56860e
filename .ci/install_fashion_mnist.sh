#!/usr/bin/env bash
# Installs the real Fashion-MNIST files where the real-data tests look for them
# (tests/io/test_datasets.py::test_real_fashion_mnist_from_debian_copy, tests/test_examples.py):
# Debian/Ubuntu's package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/.
# Fails loudly when the files are not there afterwards, so those tests cannot quietly skip in CI.
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
if [ ! -d "$dir" ]; then
  sudo apt-get update -q
  sudo apt-get install -y -q --no-install-recommends dataset-fashion-mnist
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -s "$dir/$f" ] || { echo "install_fashion_mnist.sh: $dir/$f missing after installing dataset-fashion-mnist"; exit 1; }
done
ls -l "$dir"
