"""Adversarial dog: an invisible, bounded change that turns a dog into a cat, checked on the saved 8-bit image."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from core.attack.attack import TARGET_GROUPS, AttackConfig, amplification_factor, amplify, attack, measure
from core.attack.survival import SurvivalSettings, survival
from core.attack.sweep import epsilon_sweep
from core.attack.transfer import transfer
from core.data.images import to_png_bytes
from core.models.imagenet import class_name, search_classes
from ui.adversarial import (
    folder_images,
    imagenet_attacker,
    other_available_backbones,
    outcome_table,
    prepare_for,
    read_photo,
    sweep_figure,
    trained_attacker,
    trained_classifier,
)
from ui.common import DOG_SAMPLE, get_backbone, photo_input_ui, selected_backbone, top_k_chart
from ui.folders import folder_ui
from ui.lab_path import next_step_ui
from ui.settings import widget_max

SIAMESE = 284
ANY_CAT = "Any cat (281-285)"
UNTARGETED = "Untargeted (anything but the original class)"
OTHER = "Another ImageNet class..."

st.title("🐶 ➜ 🐱 Adversarial dog")
st.markdown(
    """
Change every pixel of a dog photo by **at most a couple of levels out of 255** (far below what you can see)
in exactly the direction that pushes the network towards "cat". This is the attack researchers use
(*projected gradient descent*, PGD, or its one-step version FGSM): bounded, targeted and iterative.
The change is made on the photo as the network sees it, kept as 8-bit pixels, and every claim below is
measured on the PNG you can download.
"""
)


def choose_photo():
    """The dog photo: upload, camera, a sample, or a file from a folder (a downloaded dataset)."""
    source = st.radio("Where is your dog?", ["Upload, camera or sample", "A folder of photos"], horizontal=True,
                      key="adv_where")
    if source == "A folder of photos":
        folder = folder_ui("Folder with photos (for example a downloaded pets dataset's dog folder)", "adv_folder")
        if not folder:
            return None
        try:
            files = folder_images(folder)
        except ValueError as exc:
            st.error(str(exc), icon="📁")
            return None
        chosen = st.selectbox(f"Photo ({len(files)} in the folder)", files, format_func=lambda p: p.name,
                              key="adv_folder_file")
        return read_photo(chosen)
    photos = photo_input_ui("adv", multiple=False, default_sample=DOG_SAMPLE)
    return photos[0] if photos else None


def target_options(trained: dict | None) -> list[str]:
    """The targets on offer: ImageNet classes and groups, and the learner's own classes."""
    options = [f"{class_name(SIAMESE)} ({SIAMESE})", ANY_CAT, UNTARGETED, OTHER]
    if trained:
        options += [f"Your classifier: {name}" for name in trained["classes"]]
        options.append("Your classifier: untargeted")
    return options


def choose_target(trained: dict | None) -> tuple[str, tuple[int, ...], str]:
    """Returns (which classifier: "imagenet" or "trained", target indices, target name)."""
    choice = st.selectbox("Target", target_options(trained), key="adv_target",
                          help="Which class the network should see. A group wins when any of its classes is on top.")
    if choice.startswith("Your classifier: "):
        name = choice.removeprefix("Your classifier: ")
        return ("trained", (), "anything else") if name == "untargeted" else \
            ("trained", (trained["classes"].index(name),), name)
    if choice == ANY_CAT:
        return "imagenet", tuple(TARGET_GROUPS["any cat"]), "any cat"
    if choice == UNTARGETED:
        return "imagenet", (), "anything else"
    if choice == OTHER:
        query = st.text_input("Search ImageNet classes", value="tabby", key="adv_class_query")
        hits = search_classes(query, limit=50)
        if not hits:
            st.warning(f"No ImageNet class matches {query!r}; using {class_name(SIAMESE)}.")
            return "imagenet", (SIAMESE,), class_name(SIAMESE)
        index, name = st.selectbox("Class", hits, format_func=lambda h: f"{h[1]} ({h[0]})", key="adv_class")
        return "imagenet", (index,), name
    return "imagenet", (SIAMESE,), class_name(SIAMESE)


def choose_settings(target: tuple[int, ...]) -> AttackConfig | None:
    """Method, budget and steps as an AttackConfig (None, with a message, if they do not fit together)."""
    left, middle, right = st.columns(3)
    method = left.segmented_control("Method", ["PGD", "FGSM"], default="PGD", key="adv_method", required=True)
    eps = middle.slider("Epsilon: largest change per pixel (levels of 255)", 1, 16, 2, key="adv_eps")
    steps = right.slider("PGD steps", 1, 50, 10, key="adv_steps", disabled=method == "FGSM")
    with st.expander("More settings"):
        step_size = st.slider("PGD step size in levels (0: automatic, 2.5 x epsilon / steps, at least 1)",
                              0, 8, 0, key="adv_step_size")
        random_start = st.checkbox("Random start inside the budget", key="adv_random_start")
        seed = st.number_input("Seed of the random start", 0, 10_000, 0, key="adv_seed")
    try:
        return AttackConfig(method=method.lower(), eps=eps, steps=steps, step_size=step_size, target=target,
                            random_start=random_start, seed=int(seed))
    except ValueError as exc:
        st.error(str(exc))
        return None


def show_step(slots, record, clean, factor, config, target_name) -> None:
    """Draws one step into the live placeholders."""
    slots[0].image(clean, caption="Original (as the network sees it)", width="stretch")
    slots[1].image(record.image, caption=f"Adversarial: {record.top[0].label} {record.top[0].prob:.1%}",
                   width="stretch")
    slots[2].image(amplify(record.perturbation, factor), width="stretch",
                   caption=f"Change amplified x{factor} (grey = unchanged)")
    label = "final (best step)" if record.final else f"step {record.step} of {config.num_steps}"
    slots[3].markdown(f"**{label}** · top-1 **{record.top[0].label}** ({record.top[0].prob:.1%}) · "
                      f"{target_name}: {record.target_prob:.1%} · L-inf {record.linf} · L2 {record.l2:.1f}")


def run_live(attacker, clean, config, target_name) -> dict:
    """Runs the attack, drawing every step; returns the result kept in the session."""
    columns = st.columns(3)
    slots = [c.empty() for c in columns] + [st.empty()]
    factor = amplification_factor(config.eps)
    started = time.perf_counter()
    for record in attack(attacker, clean, config):
        show_step(slots, record, clean, factor, config, target_name)
    for slot in slots:
        slot.empty()
    return {"final": record, "seconds": time.perf_counter() - started}


def sweep_photos(folder: str, uploads: list, limit: int) -> list:
    """The sweep's photos: the folder's first ``limit`` files, or the uploads."""
    if not folder:
        return uploads[:limit]
    try:
        return [p for p in (read_photo(path) for path in folder_images(folder)[:limit]) if p is not None]
    except ValueError as exc:
        st.error(str(exc), icon="📁")
        return []


def run_sweep(attacker, images, eps_values, config, target_name) -> None:
    """Runs the sweep with a progress bar, keeping every point in the session as it arrives."""
    curve = {}
    st.session_state["adv_sweep"] = {"curve": curve, "method": config.method, "target": target_name,
                                     "photos": len(images)}
    bar, stop = st.progress(0.0, text="Sweeping..."), st.empty()
    stop.button("Stop the sweep (keeps the points so far)", key="adv_sweep_stop")
    try:
        total, finished = len(images) * len(eps_values), 0
        for point in epsilon_sweep(attacker, images, sorted(eps_values), config):
            curve[point.eps] = (point.successes, point.done)
            bar.progress((finished + point.done) / total, text=f"epsilon {point.eps}: {point.successes} of "
                                                               f"{point.done} fooled")
            finished += point.total if point.done == point.total else 0
    finally:
        bar.empty()
        stop.empty()


def sweep_section(attacker, backbone_name, config, target_name) -> None:
    """Success rate against epsilon over a folder or uploads, as a Plotly curve."""
    st.caption("How often does the attack work at each budget, over a set of photos? Uses a folder (for "
               "example a dataset's dog folder), or photos you upload here. Same method, steps and target as above.")
    folder = folder_ui("Folder of photos for the sweep", "adv_sweep_folder")
    uploads = [] if folder else photo_input_ui("adv_sweep", multiple=True)
    left, right = st.columns(2)
    eps_values = left.multiselect("Epsilons (levels)", list(range(0, 17)), default=[0, 1, 2, 4, 8],
                                  key="adv_sweep_eps")
    limit = right.slider("At most this many photos", 2, max(2, widget_max("max_sweep_photos", 150)),
                         min(12, max(2, widget_max("max_sweep_photos", 150))), key="adv_sweep_limit")
    if st.button("Run the sweep", key="adv_sweep_run", disabled=not eps_values or config is None):
        photos = sweep_photos(folder, uploads, limit)
        if photos:
            images = [prepare_for(attacker, backbone_name, p.image) for p in photos]
            run_sweep(attacker, images, eps_values, config, target_name)
        else:
            st.warning("Give at least one photo for the sweep.")
    sweep = st.session_state.get("adv_sweep")
    if sweep and sweep["curve"]:
        st.plotly_chart(sweep_figure(sweep["curve"], sweep["method"], sweep["target"], sweep["photos"]),
                        width="stretch", key="adv_sweep_chart")

def attack_section(photo, attacker, backbone_name, kind, config, target_name):
    """What the network sees now, the Run button with the live attack; returns the kept result (or None)."""
    clean = prepare_for(attacker, backbone_name, photo.image)
    now = measure(attacker, clean, clean, ())["before"][0]
    st.markdown(f"Right now {attacker.name} sees **{now.label}** ({now.prob:.1%}) in {photo.name}.")
    key = (photo.digest, config, kind, backbone_name)
    if st.button("Run the attack", type="primary", disabled=config is None, key="adv_run"):
        outcome = run_live(attacker, clean, config, target_name)
        saved = np.asarray(outcome["final"].image)  # what the PNG holds, bit for bit
        st.session_state["adv_result"] = {"key": key, "clean": clean, "adversarial": saved, "config": config,
                                          "target_name": target_name, "kind": kind, "backbone": backbone_name,
                                          "photo": photo.name, "seconds": outcome["seconds"],
                                          "perturbation": outcome["final"].perturbation}
    result = st.session_state.get("adv_result")
    if result is None:
        st.info(f"Press **Run the attack**: {config.method.upper() if config else 'PGD'} towards {target_name}.")
        return None
    if result["key"] != key:
        st.warning("The photo or settings changed since this result; press **Run the attack** to update it.")
    return result


def result_sections(result, attacker, backbone_name, kind, trained) -> None:
    """Before and after with the download, then survival and transfer of the kept result."""
    st.header("3. Before and after")
    res_config = result["config"]
    if result["kind"] == "trained" and trained is None:
        st.warning("The classifier this result attacked is gone; run the attack again.")
        return
    res_attacker = attacker if result["kind"] == kind and result["backbone"] == backbone_name else (
        trained_attacker(trained) if result["kind"] == "trained" else imagenet_attacker(result["backbone"]))
    factor = amplification_factor(res_config.eps)
    measured = measure(res_attacker, result["clean"], result["adversarial"], res_config.target)
    cols = st.columns(3)
    cols[0].image(result["clean"], caption="Original (as the network sees it)", width="stretch")
    cols[1].image(result["adversarial"], caption="Adversarial (the PNG below)", width="stretch")
    cols[2].image(amplify(result["perturbation"], factor), width="stretch", caption=f"The change, amplified "
                  f"x{factor}: ±{res_config.eps} levels become ±{res_config.eps * factor}")
    verdict = "✅ The attack worked" if measured["success"] else "❌ The attack did not reach its target"
    st.markdown(f"**{verdict}** on {result['photo']}: {res_config.method.upper()}, epsilon {res_config.eps}, "
                f"{res_config.num_steps} step(s), {result['seconds']:.2f} s. Largest change of any pixel: "
                f"**{measured['linf']} levels of 255** (L2 {measured['l2']:.1f}); {result['target_name']}: "
                f"{measured['target_prob']:.1%}.")
    left, right = st.columns(2)
    left.plotly_chart(top_k_chart(measured["before"], "Before: top 5"), width="stretch", key="adv_before")
    right.plotly_chart(top_k_chart(measured["after"], "After: top 5"), width="stretch", key="adv_after")
    st.download_button("Download the adversarial PNG", to_png_bytes(result["adversarial"]),
                       file_name=f"adversarial_{res_config.method}_eps{res_config.eps}.png", mime="image/png",
                       icon="⬇️", key="adv_download", on_click="ignore")
    survival_section(result, res_attacker, measured["before"][0].index)
    transfer_section(result)


def survival_section(result, res_attacker, clean_top: int) -> None:
    """JPEG, resize and blur applied to the saved image, each with the prediction it gets."""
    res_config = result["config"]
    st.header("4. Does it survive?")
    st.caption("Everyday changes to the saved image: each one can wash out a change of a level or two.")
    c1, c2, c3 = st.columns(3)
    quality = c1.slider("JPEG quality", 10, 95, 75, key="adv_jpeg")
    scale = c2.slider("Resize to (% and back)", 50, 95, 90, key="adv_scale") / 100
    radius = c3.slider("Blur radius (pixels)", 0.1, 2.0, 0.5, 0.1, key="adv_blur")
    rows = survival(res_attacker, result["adversarial"], clean_top, res_config.target,
                    SurvivalSettings(quality, scale, radius))
    st.dataframe(outcome_table(rows, "check", bool(res_config.target)), hide_index=True, width="stretch")


def transfer_section(result) -> None:
    """The adversarial image shown to every other offline ImageNet backbone, on request."""
    res_config = result["config"]
    st.header("5. Does it transfer?")
    if result["kind"] == "trained":
        st.info("Your classifier's classes are not ImageNet classes, so other networks cannot be asked about them.")
    else:
        others = other_available_backbones(result["backbone"])
        st.caption(f"The same adversarial image (resized, not cropped) shown to every other network available "
                   f"offline: {', '.join(others) or 'none'}.")
        if others and st.button("Show it to the other networks", key="adv_transfer_run"):
            rows = transfer([imagenet_attacker(name) for name in others], result["clean"], result["adversarial"],
                            res_config.target)
            st.session_state["adv_transfer"] = (result["key"], rows)
        stored = st.session_state.get("adv_transfer")
        if stored and stored[0] == result["key"]:
            st.dataframe(outcome_table(stored[1], "network", bool(res_config.target)), hide_index=True, width="stretch")


trained = trained_classifier()
st.header("1. A dog photo")
photo = choose_photo()
st.header("2. The attack")
kind, target, target_name = choose_target(trained)
config = choose_settings(target)
if kind == "trained":
    attacker, backbone_name = trained_attacker(trained), trained["backbone"]
    st.caption(f"Attacking your own classifier (classes: {', '.join(trained['classes'])}) on {backbone_name}.")
else:
    backbone_name = selected_backbone()
    get_backbone(backbone_name)
    attacker = imagenet_attacker(backbone_name)
if photo is None:
    st.info("Add a photo of a dog (or any photo) to attack it.")
else:
    result = attack_section(photo, attacker, backbone_name, kind, config, target_name)
    if result is not None:
        result_sections(result, attacker, backbone_name, kind, trained)
st.header("6. Epsilon sweep")
sweep_section(attacker, backbone_name, config, target_name)
next_step_ui("adversarial_dog")
