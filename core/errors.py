"""Problems with what a learner or a teacher gave, as data: a code and its arguments, never a sentence.

``core`` raises ``LabError(code, **args)`` (or one of the subclasses below, so ``except DatasetError`` keeps
working). ``str()`` of one is the CLI's English, from ``MESSAGES``: it may name server paths and URLs, which the
CLI's user owns. ``ui/`` never shows that text: it shows the catalogue's ``lab_error.<code>`` entry in the
learner's language, whose placeholders are a subset of the code's arguments and never a path
(``tests/test_lab_errors.py`` renders every code in both languages).

Arguments are plain values (text and numbers), so an error pickles and can come back from a worker process.
"""

from __future__ import annotations

import string

MESSAGES = {
    # core.data.archives
    "archive_outside": "the archive entry {entry!r} points outside its folder (absolute path or '..'); "
                       "refusing the whole archive",
    "archive_symlink": "the archive entry {entry!r} is a symbolic link; refusing the archive",
    "archive_too_many_files": "the archive holds {count:,} files, more than the {limit:,} allowed",
    "archive_too_big": "the archive unpacks to {mb:,.0f} MB, more than the {limit_mb:,.0f} MB allowed",
    "archive_over_limit": "the archive unpacks to more than the {limit_mb:,.0f} MB allowed",
    "archive_not_zip": "this is not a readable .zip file ({reason})",
    "archive_damaged_entry": "the archive entry {entry!r} is damaged ({reason})",
    "archive_entry_unpack": "the archive entry {entry!r} cannot be unpacked ({reason})",
    "archive_unreadable": "{file} is not a readable archive ({reason})",
    # core.data.images
    "image_unknown_format": "{file} is not an image Transfer Lab can read ({formats})",
    "image_too_many_pixels": "{file} has too many pixels to open safely (limit {limit:,})",
    "image_pixels_over": "{file} is {width}x{height} pixels, more than the {limit:,} allowed",
    "image_damaged": "{file} is damaged or cut short and cannot be read",
    "image_empty": "{file} is empty (0 bytes)",
    "image_too_large": "{file} is {mb:.1f} MB; the limit is {limit_mb:.0f} MB",
    "image_cannot_open": "{file} cannot be opened ({reason})",
    # core.data.safe_paths
    "folder_not_typed": "type a folder's path",
    "folder_system": "{path} is a system folder, not a folder of photos",
    "folder_missing": "{path} is not a folder on this computer",
    "folder_no_permission": "{path} cannot be read (no permission); choose a folder of yours",
    # core.data.datasets
    "dataset_too_few_classes": "{dataset} has {count} class(es) for the {task!r} task; training needs at least 2",
    "dataset_no_class_folders": "{path} has no class folders with photos in them (expected class_name/photo.jpg)",
    "dataset_no_oxford_names": "{path} has no Oxford-named photos (<breed>_<number>.jpg) to label by {task}",
    "dataset_no_permission": "{dataset}: this app may not read that folder; pick another one, "
                             "or ask whoever owns it to let the server read it",
    "dataset_not_a_folder": "{path} is not a folder",
    "dataset_list_missing": "{path} is missing: is this an extracted Oxford-IIIT Pet folder?",
    "dataset_petimages_missing": "{path} is missing: expected PetImages/Cat and PetImages/Dog",
    "dataset_task": "task must be one of {tasks}, got {task!r}",
    "dataset_species_only": "Cats vs Dogs only has the 'species' task",
    "dataset_unknown_source": "{path} is neither a folder, a .zip, 'oxford-pets' nor 'cats-vs-dogs'",
    # core.data.datasets: files left out of a dataset (kept in Dataset.skipped, not raised)
    "skipped_not_photo": "{file}: not a photo file name",
    "skipped_not_oxford": "{file}: the name is not <breed>_<number>",
    "skipped_missing": "{file}: listed in {list} but missing",
    "skipped_not_file": "{file}: not a file",
    "skipped_empty": "{file}: empty (0 bytes)",
    "skipped_damaged": "{file}: not an image or damaged",
    # core.data.downloads and core.data.public_datasets
    "download_offline": "{file} needs a network connection to download from {url}; "
                        "without one, put the file at {path} by hand",
    "download_failed": "download of {url} failed ({reason}); check the network connection, proxy or "
                       "certificates, then try again",
    "download_checksum": "{file} from {url} does not have the expected {algorithm} checksum",
    "oxford_offline": "The Oxford-IIIT Pet dataset needs a network connection to download ({url}). "
                      "Without one, copy images.tar.gz and annotations.tar.gz into {downloads}, "
                      "or their extracted images/ and annotations/ folders into {path}.",
    "cats_offline": "Cats vs Dogs needs a network connection to download ({url}). Without one, copy "
                    "{file} into {downloads}, or its extracted PetImages/ folder into {path}.",
    # core.transfer: training, export and loading a model back
    "training_no_photos_left": "no photos left for training; add photos or lower the validation share",
    "training_view_unreadable": "{count} photo(s) could not be read again for the {view} view",
    "export_line_break": "class names cannot contain line breaks",
    "export_tflite": "TensorFlow Lite could not convert this model ({kind}); the .keras file is still complete",
    "model_too_big": "the model file is {mb:.0f} MB; the limit is {limit_mb} MB",
    "model_not_zip": "this is not a readable .keras model file (a .keras file is a zip archive)",
    "model_unpacks_too_big": "the model unpacks to more than {limit_mb} MB or {files} files",
    "model_member_too_big": "{file} is larger than {limit_mb:,.0f} MB",
    "model_config_refused": "{detail}",
    "model_too_slow": "checking the model took more than {seconds:g} s; it is too slow for this server",
    "model_no_config": "this is not a readable .keras model file (no readable config.json inside)",
    "model_too_many_params": "the model has {count:,} parameters; at most {limit:,} are allowed",
    "model_has_code": "this model contains Python code (a Lambda layer or similar); Transfer Lab only loads "
                      "models in Keras safe mode, so it was refused",
    "model_cannot_load": "this is not a model Transfer Lab can load ({reason})",
    "model_unreadable": "this is not a readable .keras model file ({reason})",
    "model_count": "expected one .keras model (or the bundle zip), got {count}",
    "bundle_count": "expected one .keras model in the bundle, got {count} in {files} files",
    "bundle_member_too_big": "the bundle's model is over {limit_mb} MB",
    "bundle_unreadable": "this zip cannot be read; upload the bundle as downloaded",
    "model_input_shape": "the model's input is {shape}; expected square RGB photos (None, s, s, 3)",
    "model_no_class_names": "this model does not carry its class names; give its labels.txt (one name a line) "
                            "with it",
    "model_outputs_mismatch": "the model has {outputs} outputs for {count} class names",
    "model_not_softmax": "the model's output is not softmax probabilities (they must be >= 0 and sum to 1)",
    # core.jobs
    "job_busy": "{label!r} is still {state}; stop it or wait for it to finish",
    # core.cluster (more than one machine)
    "job_worker_lost": "the workers running {label!r} stopped twice in the middle of it; start it again",
    "job_queue_unreachable": "the job queue (Redis) cannot be reached; try again in a minute or tell your teacher",
    # core.settings (the teacher's environment variables)
    "setting_not_positive": "{variable} must be a positive whole number, got {value!r}",
    "setting_mode": "TRANSFER_LAB_MODE must be 'personal' or 'classroom', got {value!r}",
    "setting_heavy_slots": "TRANSFER_LAB_HEAVY_SLOTS must be at least 1, got {value!r}",
    "setting_data_dir": "TRANSFER_LAB_DATA_DIRS names {path!r}, which is not a folder",
}


def arguments(code: str) -> frozenset[str]:
    """The argument names a code takes: the placeholders of its English message."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(MESSAGES[code]) if name)


class LabError(Exception):
    """A refused input or setting: ``code`` names the problem, ``params`` fill in its details."""

    def __init__(self, code: str, /, **params):
        if code not in MESSAGES:
            raise KeyError(f"unknown error code {code!r}; add it to core.errors.MESSAGES and both catalogues")
        if set(params) != arguments(code):
            raise TypeError(f"{code} takes {sorted(arguments(code))}, got {sorted(params)}")
        super().__init__(code)
        self.code, self.params = code, dict(params)

    def __str__(self) -> str:
        return MESSAGES[self.code].format(**self.params)

    def __reduce__(self):
        return _rebuild, (type(self), self.code, self.params)


def _rebuild(kind: type[LabError], code: str, params: dict) -> LabError:
    return kind(code, **params)
