"""What the video reader decodes: a video container or an animated GIF (OpenCV's ``VideoCapture``), or a
directory of frame images (:class:`ImageSequence`, the same interface, frames in file-name order at a
given frame rate)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from mgreason.errors import DataError
from mgreason.transcribe.video.options import DEFAULT_FRAMES_FPS, IMAGE_SUFFIXES

__all__ = ["image_files", "ImageSequence", "open_capture"]


def _natural(p: Path) -> list[Any]:
    """``frame_2.png`` before ``frame_10.png``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def image_files(directory: Path) -> list[Path]:
    """The frame images of ``directory`` (:data:`~.options.IMAGE_SUFFIXES`, hidden files skipped), in natural
    file-name order."""
    files = [p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=_natural)


class ImageSequence:
    """A directory of frame images behind the part of OpenCV's ``VideoCapture`` interface the reader uses:
    frame ``i`` is the ``i``-th image in file-name order, at ``i / fps`` seconds. An image OpenCV cannot
    read fails like a corrupt video frame (``retrieve`` returns ``(False, None)``), so it becomes an
    unreadable frame of the timeline."""

    def __init__(self, directory: Path, cv2: Any, fps: float):
        self.cv2, self.fps = cv2, float(fps)
        self.files = image_files(directory)
        self.pos = -1
        self.size = (0, 0)
        for f in self.files[:8]:  # the frame size: the first readable image
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is not None:
                self.size = (int(img.shape[0]), int(img.shape[1]))
                break

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return bool(self.files) and self.size != (0, 0)

    def get(self, prop: int) -> float:
        cv2 = self.cv2
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self.files))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(self.size[1])
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(self.size[0])
        if prop == cv2.CAP_PROP_POS_MSEC:
            return max(self.pos, 0) * 1000.0 / self.fps
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        """Seek: the next ``grab`` reads frame ``value`` (``CAP_PROP_POS_FRAMES`` only)."""
        if prop != self.cv2.CAP_PROP_POS_FRAMES or not 0 <= int(value) <= len(self.files):
            return False
        self.pos = int(value) - 1
        return True

    def grab(self) -> bool:
        if self.pos + 1 >= len(self.files):
            return False
        self.pos += 1
        return True

    def retrieve(self) -> tuple[bool, Optional[Any]]:
        img = self.cv2.imread(str(self.files[self.pos]), self.cv2.IMREAD_COLOR)
        return (img is not None), img

    def release(self) -> None:
        pass


def open_capture(path: Path, cv2: Any, fps: Optional[float] = None) -> Any:
    """``cv2.VideoCapture`` for a video file or GIF; :class:`ImageSequence` at ``fps`` (default
    :data:`~.options.DEFAULT_FRAMES_FPS`) for a directory of frame images."""
    if path.is_dir():
        if not image_files(path):
            raise DataError(f"no frame images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this directory", file=path)
        return ImageSequence(path, cv2, fps or DEFAULT_FRAMES_FPS)
    return cv2.VideoCapture(str(path))
