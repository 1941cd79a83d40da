"""The curriculum lab experiment in its tiny configuration: it runs, prints its table with a row per
order, writes its PNG, and shows what it claims (checked to hold for seeds 0-3, asserted for two)."""
import os

import pytest

from firstepoch import lab


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest's: one kernel thread, then the count restored


@pytest.mark.parametrize("seed", [0, 3])
def test_curriculum_easy_to_hard_starts_behind_random_order(seed, tmp_path, capsys):
    out = lab.load("curriculum").run(str(tmp_path), seed=seed, tiny=True)
    printed = capsys.readouterr().out
    assert out["table"] in printed
    assert out["png"] == os.path.join(str(tmp_path), "curriculum.png")
    with open(out["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    for row in ("random order", "easy to hard", "hard to easy"):
        assert row in out["table"]
    m = out["metrics"]
    easy, hard, rnd = m["easy to hard"], m["hard to easy"], m["random order"]
    # the sampler served what each order promises: easy batches first, hard ones first, or neither
    assert easy["first_batches_score"] < 0.7 * rnd["first_batches_score"]
    assert hard["first_batches_score"] > 1.3 * rnd["first_batches_score"]
    # "easy" is lopsided over the classes, and at an equal early step count easy-to-hard is behind
    assert easy["rarest_class"] < rnd["rarest_class"]
    assert easy["early_acc"] < rnd["early_acc"]
    for label, r in m.items():
        assert r["final_acc"] > 0.8, label        # every order learns the digits in the end
