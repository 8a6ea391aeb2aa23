import pytest
import torch

from vivify.errors import UserError
from vivify.runtime.device import resolve_device


def test_auto_is_cuda_only_where_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_bad_names_are_user_errors():
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine has the device")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(UserError, match="no usable CUDA GPU"):
        resolve_device("cuda:0")
