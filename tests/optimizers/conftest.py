import numpy as np
import pytest

import minicnn


@pytest.fixture
def check_resumes_exactly(tmp_path):
    """``check(model, x, y, batch_size, custom_objects=None)``: the trained ``model`` saved and
    loaded again has the same optimizer (type, variable paths and values), and both train two
    more epochs to the same weights bit for bit."""

    def check(model, x, y, batch_size, custom_objects=None):
        model.save(tmp_path / "m.minicnn")
        loaded = minicnn.models.load_model(tmp_path / "m.minicnn", custom_objects=custom_objects)
        assert type(loaded.optimizer) is type(model.optimizer)
        for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
            assert a.path == b.path
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        for m in (model, loaded):
            m.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
        for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        return loaded

    return check
