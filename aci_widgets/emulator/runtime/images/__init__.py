"""The emulator's image catalogue and its built-in images (see ``catalogue.py``)."""

from __future__ import annotations

from .catalogue import (
    ImageNotFound,
    ResolvedImage,
    is_resolvable,
    list_images,
    normalize_image_name,
    populate_workdir,
    register_image,
    resolve,
    unregister_image,
)

__all__ = [
    "ImageNotFound",
    "ResolvedImage",
    "is_resolvable",
    "list_images",
    "normalize_image_name",
    "populate_workdir",
    "register_image",
    "resolve",
    "unregister_image",
]
