"""The explorer session without Qt: settings -> request, cache, jobs, models, references."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_vqseg.explorer.session import ExplorerSession, compose_set, with_reference
from napari_vqseg.explorer.settings import FROM_FILES, ExplorerSettings
from vqseg_core.pretrained.registry import set_info


@pytest.fixture
def session(tiny_trio):
    s = ExplorerSession()
    s.add_set(tiny_trio)
    return s


@pytest.fixture
def settings(tiny_trio):
    return ExplorerSettings(models=tiny_trio.name, kind="gaussian", level=10.0, seed=2, n_draws=2)


@pytest.fixture
def shown(run_job):
    def show(session, settings, image, gt=None):
        """Analyse, running the job if one starts; returns the step that shows the view."""
        step = session.analyse(settings, image, (0.5, 0.5), gt)
        if step.action == "start":
            job = step.job
            step = session.accept(job, run_job(job))
            session.finished(job)
        assert step.action == "show", step
        return step

    return show


def test_settings_become_one_request(session, settings, disc) -> None:
    request = session.request(settings.with_(keys=("vqcopy", "unet")), disc[0], (0.5, 0.5), focus=3)
    assert request.member_keys == ("vqcopy", "unet")
    c = request.corruption
    assert (c.kind, c.level, c.seed, request.n_draws) == ("gaussian", 10.0, 2, 2)
    assert request.spacing == (0.5, 0.5) and request.device == "cpu"
    assert request.focus is None  # 2D image: no focus slice


def test_all_models_by_default_and_two_to_six_chosen(session, settings, tiny_trio) -> None:
    assert session.chosen(settings, tiny_trio) == ("unet", "vqunet", "vqcopy")
    with pytest.raises(ValueError, match="choose 2-6"):
        session.chosen(settings.with_(keys=("unet",)), tiny_trio)
    with pytest.raises(ValueError, match=r"no model 'nope'.*unet, vqunet, vqcopy"):
        session.chosen(settings.with_(keys=("unet", "nope")), tiny_trio)


def test_an_out_of_range_level_is_refused_with_the_corruptions_message(session, settings, disc) -> None:
    from vqseg_core.perturb import Corruption

    with pytest.raises(ValueError) as expected:
        Corruption("gaussian", 250.0, 2)
    step = session.analyse(settings.with_(level=250.0), disc[0], (0.5, 0.5))
    assert step.action == "refuse" and step.job is None
    assert step.message == str(expected.value)
    assert not session.jobs.running


def test_a_revisited_setting_comes_from_the_cache(session, settings, disc, shown) -> None:
    first = shown(session, settings, *disc).view
    assert list(first.models) == ["unet", "vqunet", "vqcopy"] and first.reference == "unet"
    hits = session.cache.hits
    shown(session, settings.with_(level=20.0), *disc)
    again = session.analyse(settings, *disc[:1], (0.5, 0.5), disc[1])
    assert again.action == "show" and again.job is None
    assert again.view.models["unet"].labels is first.models["unet"].labels
    assert session.cache.hits == hits + 1


def test_the_same_job_is_started_once(session, settings, disc) -> None:
    first = session.analyse(settings, disc[0], (0.5, 0.5))
    again = session.analyse(settings, disc[0], (0.5, 0.5))
    assert first.action == "start" and again.action == "wait"
    assert [j.id for j in session.jobs.running] == [first.job.id]
    sweep = session.sweep(settings, disc[0], (0.5, 0.5))
    assert sweep.action == "start" and session.sweep(settings, disc[0], (0.5, 0.5)).action == "wait"
    assert not first.job.cancelled  # a sweep does not cancel an analysis


def test_a_stale_job_is_cached_but_not_shown(session, settings, disc, run_job) -> None:
    old = session.analyse(settings, disc[0], (0.5, 0.5)).job
    new = session.analyse(settings.with_(level=20.0), disc[0], (0.5, 0.5)).job
    assert old.cancelled and not new.cancelled
    late = session.accept(old, ("ok", "a view computed before the user moved on"))
    assert late.action == "drop" and session.view is None
    assert session.cache.get(old.key) is not None  # still right for its own settings
    assert session.accept(new, run_job(new)).action == "show"
    assert session.view.corruption.level == 20.0


def test_changing_the_reference_reruns_nothing(session, settings, disc, shown) -> None:
    view = shown(session, settings, *disc).view
    step = session.analyse(settings.with_(reference="vqcopy"), disc[0], (0.5, 0.5), disc[1])
    assert step.action == "show"
    moved = step.view
    assert moved.reference == "vqcopy" and moved.models["vqcopy"].disagreement is None
    ref = view.models["vqcopy"].labels
    np.testing.assert_array_equal(moved.models["unet"].disagreement, view.models["unet"].labels != ref)
    np.testing.assert_array_equal(
        moved.disagreement, (view.models["unet"].labels != ref) | (view.models["vqunet"].labels != ref)
    )
    assert with_reference(moved, "unet").reference == "unet"


def test_volumes_under_slice_models_key_their_focus_slice() -> None:
    from vqseg_core.pretrained import load_set

    session = ExplorerSession()
    session.add_set(load_set("ct-organs"))
    volume = np.zeros((24, 20, 6), np.float32)
    s = ExplorerSettings(models="ct-organs", level=5.0, n_draws=2)
    key = {z: session.cache_key(session.request(s, volume, (1.5, 1.5, 2.0), focus=z)) for z in (2, 3)}
    assert key[2] != key[3] and key[2].focus == 2
    flat = session.cache_key(session.request(s, volume, (1.5, 1.5, 2.0), focus=None))
    assert flat.focus is None


def test_a_windowed_3d_network_ignores_the_focus_in_its_key(untrained_3d_set) -> None:
    session = ExplorerSession()
    session.add_set(untrained_3d_set)
    volume = np.zeros((20, 18, 24), np.float32)
    s = ExplorerSettings(models=untrained_3d_set.name, level=5.0)
    keys = {session.cache_key(session.request(s, volume, None, focus=z)) for z in (1, 9)}
    assert len(keys) == 1


def test_models_are_loaded_once_by_a_job(tiny_pair_files, disc, run_job) -> None:
    session = ExplorerSession()
    files = (str(tiny_pair_files["unet"]), str(tiny_pair_files["vqunet"]))
    s = ExplorerSettings(models=FROM_FILES, model_files=files)
    assert session.members(s) == []
    step = session.analyse(s, disc[0], (0.5, 0.5))
    assert step.action == "load" and session.analyse(s, disc[0], (0.5, 0.5)).action == "wait"
    assert session.accept_models(step.job, run_job(step.job)).action == "loaded"
    session.finished(step.job)
    assert [m.key for m in session.members(s)] == ["unet", "vqunet"]
    assert session.analyse(s, disc[0], (0.5, 0.5)).action == "start"


def test_nothing_chosen_is_refused(disc) -> None:
    step = ExplorerSession().analyse(ExplorerSettings(models=FROM_FILES), disc[0])
    assert step.action == "refuse" and "From files" in step.message


def test_bundled_members_are_listed_without_loading() -> None:
    session = ExplorerSession()
    members = session.members(ExplorerSettings(models="chest-xray"))
    assert [m.key for m in members] == list(set_info("chest-xray").keys)
    assert members[0].colour.startswith("#")
    assert not session.sets


def test_exports_added_to_a_bundled_set_get_their_own_key_name_and_colour(
    tiny_vqunet_as_chest, tiny_pair_files
) -> None:
    models = compose_set("chest-xray", [str(tiny_vqunet_as_chest)])
    bundled = set_info("chest-xray").keys
    assert models.keys[: len(bundled)] == bundled and len(models) == len(bundled) + 1
    added = models.members[-1]
    assert added.key == added.name == "tiny-vqunet"  # named after its file
    assert len({m.colour for m in models}) == len({m.name for m in models}) == len(models)
    with pytest.raises(ValueError, match="disagree on label 1"):  # 'ring' is not 'lungs'
        compose_set("chest-xray", [str(tiny_pair_files["vqunet"])])


def test_sweep_rows_cover_every_model(session, settings, disc, run_job) -> None:
    step = session.sweep(settings.with_(n_draws=1), disc[0], (0.5, 0.5), disc[1])
    assert step.total == len({*step.job.work.args[3]})
    assert session.accept_sweep(step.job, run_job(step.job)).action == "show"
    assert {r["model"] for r in session.sweep_rows} == {"unet", "vqunet", "vqcopy"}
    assert session.sweep_units == "%"


def test_export_records_the_set_and_every_model(session, settings, disc, tmp_path, shown) -> None:
    shown(session, settings, *disc)
    files = {p.name for p in session.export(tmp_path)}
    assert {"metrics.csv", "settings.json"} <= files
    doc = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert doc["models"]["id"] == session.loaded().id
    assert [m["key"] for m in doc["models"]["models"]] == ["unet", "vqunet", "vqcopy"]


def test_the_view_is_forgotten_when_the_image_or_models_change(session, settings, disc, shown) -> None:
    shown(session, settings, *disc)
    level = session.analyse(settings.with_(level=20.0), disc[0], (0.5, 0.5))
    assert not session.forget_if_stale(level.request)  # same image and models: keep it shown
    assert session.view is not None
    other = session.analyse(settings, np.roll(disc[0], 5, axis=0), (0.5, 0.5))
    assert session.forget_if_stale(other.request)
    assert session.view is None and session.view_key is None
    shown(session, settings, *disc)
    fewer = session.analyse(settings.with_(keys=("unet", "vqunet")), disc[0], (0.5, 0.5))
    assert not session.forget_if_stale(fewer.request)  # some of the same set: still valid
    unknown = session.analyse(settings, disc[0], None)
    assert session.forget_if_stale(unknown.request)  # the spacing changed: HD95 in px now


def test_the_set_named_is_the_one_that_ran_not_the_one_chosen_since(
    session, settings, disc, shown, tiny_trio, tmp_path
) -> None:
    assert session.shown_set() is None  # nothing ran yet
    shown(session, settings, *disc)
    assert session.shown_set() is tiny_trio
    other = settings.with_(models="chest-xray")  # chosen after the run, not loaded yet
    assert session.analyse(other, disc[0], (0.5, 0.5)).action == "load"
    assert session.loaded() is None and session.view is not None  # still the trio's view
    assert session.shown_set() is tiny_trio
    assert [m.name for m in session.shown_legend().values()] == ["UNet", "VQ-UNet", "VQ copy"]
    session.export(tmp_path)
    doc = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert doc["models"]["name"] == "tiny-trio" and doc["models"]["id"] == tiny_trio.id
    session.cancel()
