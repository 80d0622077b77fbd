"""When the loop's upkeep is due, from the options that set it: grids, evaluations and checkpoints by epochs, images
seen or minutes; and the guard's decisions, which the loop carries out."""

from facegan.config import TrainConfig, upgraded
from facegan.training import cadence
from facegan.training.guard import Guard


def config(**options) -> TrainConfig:
    return TrainConfig.resolve("dcgan", **options)


def due_steps(due, steps: int, batch: int) -> list[int]:
    return [step for step in range(1, steps + 1) if due.at_step((step - 1) * batch, step * batch)]


def test_by_images_seen_it_is_due_at_the_step_that_passes_each_multiple():
    grids = cadence.grids(config(sample_every="0.1k", epochs=3))
    assert due_steps(grids, 30, 8) == [13, 25]  # 104 and 200 images seen: past 100 and 200
    assert [e for e in range(1, 4) if grids.at_epoch_end(e, 3)] == [3]  # and the last epoch's grid


def test_by_epochs_ten_over_a_run_by_default_and_always_the_last():
    assert [e for e in range(1, 26) if cadence.grids(config(epochs=25)).at_epoch_end(e, 25)] == [2 * k for k in
                                                                                                  range(1, 13)] + [25]
    assert [e for e in range(1, 8) if cadence.evaluations(config(epochs=7, eval_every="3")).at_epoch_end(e, 7)] == \
        [3, 6, 7]
    assert due_steps(cadence.grids(config(epochs=7)), 50, 8) == []  # no image clock unless asked


def test_a_config_written_with_epochs_and_images_apart_keeps_its_grids_and_evaluations():
    before = {**config(epochs=3).to_dict(), "sample_every": 0, "sample_every_images": 24, "eval_every": None,
              "eval_every_images": 0}
    cfg = TrainConfig(**upgraded(before))
    assert (cfg.sample_every, cfg.eval_every) == ("0.024k", "")
    assert due_steps(cadence.grids(cfg), 30, 8) == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert TrainConfig(**upgraded({**before, "sample_every": 2, "sample_every_images": 0, "eval_every": 0,
                                   "eval_every_images": 0})).eval_every == "0"


def test_evaluations_every_0_are_never_due():
    off = cadence.evaluations(config(eval_every=0))
    assert not off.on and not any(off.at_epoch_end(e, 10) for e in range(1, 11)) and due_steps(off, 50, 8) == []


def test_checkpoints_at_every_epoch_end_and_after_the_minutes():
    checkpoints = cadence.checkpoints(config(checkpoint_minutes=2))
    assert all(checkpoints.at_epoch_end(e, 5) for e in range(1, 6))
    assert not checkpoints.after(119.0) and checkpoints.after(120.0)
    assert not cadence.checkpoints(config(checkpoint_minutes=0)).after(1e9)


def test_the_guard_decides_a_rollback_after_bad_steps_refused_in_a_row_and_forgets_after_it():
    guard = Guard(config(bad_steps=3))
    assert [guard.after_step(s).action for s in (1, 1, 0, 1, 1)] == ["go"] * 5  # a good step breaks the streak
    decision = guard.after_step(1)
    assert decision.action == "rollback" and decision.status == "diverged"
    assert [(e.check, e.action) for e in decision.events] == [("nonfinite", "rollback")]
    guard.forget()
    assert guard.after_step(1).action == "go"


def test_the_guard_stops_warns_or_rolls_back_on_a_collapse_as_told():
    pinned = [{"epoch": e, "d_acc_real": 1.0, "d_acc_fake": 1.0, "g_loss": 25.0, "diversity": 1.0}
              for e in range(1, 9)]
    for on_collapse, action in (("warn", "go"), ("stop", "stop"), ("rollback", "rollback")):
        guard = Guard(config(on_collapse=on_collapse, collapse_patience=3))
        decision = guard.judge_epoch(pinned, 8, 100_000)
        assert decision.action == action and [e.check for e in decision.events] == ["d_overpowering"]
        assert guard.judge_epoch(pinned, 8, 100_000).events == []  # reported once, when it begins
    ended = guard.judge_epoch(pinned[:1], 9, 100_000)
    assert [(e.check, e.action, e.warn) for e in ended.events] == [("d_overpowering", "none", False)]
    assert Guard(config()).after_epoch(weights_finite=False).action == "rollback"
