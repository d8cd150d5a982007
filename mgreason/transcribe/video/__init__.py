"""Video -> skeleton with MediaPipe (the optional ``video`` extra): video files, animated GIFs and
directories of frame images.

Modules: :mod:`.options` (vocabulary, defaults, command-line options and their checks; light),
:mod:`.backend` (importing MediaPipe/OpenCV, their native logs), :mod:`.sources` (a video or GIF through
OpenCV, a directory of frame images), :mod:`.reader` (decoding, optionally in a second thread), :mod:`.sampling` (frames picked at ``pose_fps``, interpolation between them),
:mod:`.pose` (MediaPipe's pose and hand models), :mod:`.read` (:func:`read_video`, all of it). Importing
this package imports nothing heavy: the names below load their module on first use.

Needs ``mediapipe==0.10.21`` (the last release with the legacy ``mp.solutions`` API, whose pose, hand
and face models ship inside the wheel, so nothing is downloaded at run time) and OpenCV
(``cv2``; any of ``opencv-contrib-python[-headless]`` / ``opencv-python[-headless]``), both
imported lazily.

* ``holistic`` (default): MediaPipe Holistic -> layout ``mediapipe75`` (33 pose + 21 left-hand + 21
  right-hand landmarks). Hands are what micro-gestures are about; the imigue22 fingertips come from
  them.
* ``pose``: MediaPipe Pose only -> ``mediapipe33`` (faster; fingertips come from the pose model's
  coarse finger points).
* ``pose-hands``: MediaPipe Pose, then MediaPipe Hands (one tracker per side) only on a square crop
  around each wrist the pose sees (:class:`CroppedHands`), mapped back to the frame -> ``mediapipe75``.
  The measured alternative to Holistic (``benchmarks/results/video.md`` says which is better).

Coordinates are image pixels of the *original* video (x right, y down), as OpenPose reports them; a
pose landmark's confidence is its visibility, a hand landmark's is 1 when the hand was found.

Frames are placed on the timeline by their container timestamps, so frames the decoder cannot read
(corrupt packets) show up as *unreadable* frames (listed in ``meta['unreadable_frames']``, confidence
0) instead of silently shifting everything after them. Frames where nobody is found are listed in
``meta['empty_frames']``.

Speed (issues 19 and 28; measured in ``benchmarks/results/video.md``):

* ``hands="auto"``: the hand models run where a hand can matter (:mod:`.gate`: near the face, neck or torso,
  or moving); ``workers``: MediaPipe graphs on consecutive parts of the video (default 1);
  ``reuse_models``: a batch keeps its graphs from one video to the next.

* ``pose_fps``: MediaPipe runs on frames picked evenly at this rate (default
  :data:`~.options.DEFAULT_POSE_FPS`); the frames in between are decoded (``grab``, needed for the timeline and
  by inter-frame codecs) but never converted to an image, and their landmarks are interpolated
  linearly from the two nearest processed frames (see :func:`interpolate_skipped`). ``None`` or ``0``:
  every frame.
* ``max_side``: frames are scaled down (bilinear) so their longer side is at most this many pixels
  before MediaPipe (default :data:`~.options.DEFAULT_MAX_SIDE`: only 4K is scaled, to 1080p; MediaPipe's own
  cost does not depend on the frame size, and small frames lose hands in wide shots); landmarks are
  scaled back to the original pixels. ``None`` or ``0``: the original size.
* ``reader_thread``: decoding and scaling run in a second thread that feeds a bounded queue of at most
  ``queue_size`` frames, so decoding overlaps MediaPipe and a video of any length holds at most
  ``queue_size + 2`` decoded frames in memory.
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports

__all__ = [
    "VIDEO_SUFFIXES",
    "DEFAULT_VIDEO_MODEL",
    "DEFAULT_POSE_FPS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_HANDS",
    "DEFAULT_QUEUE_SIZE",
    "VIDEO_MODELS",
    "HANDS_MODES",
    "check_video_options",
    "check_model_and_hands",
    "video_options",
    "VIDEO_EXTRA",
    "require_video_backend",
    "video_backend_versions",
    "pose_frame_mask",
    "interpolate_skipped",
    "FrameReader",
    "HAND_CROP",
    "HAND_RECHECK",
    "CroppedHands",
    "hand_crop",
    "Progress",
    "read_video",
]

_LAZY = {
    "VIDEO_SUFFIXES": "mgreason.transcribe.video.options",
    "DEFAULT_VIDEO_MODEL": "mgreason.transcribe.video.options",
    "DEFAULT_POSE_FPS": "mgreason.transcribe.video.options",
    "DEFAULT_MAX_SIDE": "mgreason.transcribe.video.options",
    "DEFAULT_HANDS": "mgreason.transcribe.video.options",
    "DEFAULT_QUEUE_SIZE": "mgreason.transcribe.video.options",
    "VIDEO_MODELS": "mgreason.transcribe.video.options",
    "HANDS_MODES": "mgreason.transcribe.video.options",
    "check_video_options": "mgreason.transcribe.video.options",
    "check_model_and_hands": "mgreason.transcribe.video.options",
    "video_options": "mgreason.transcribe.video.options",
    "VIDEO_EXTRA": "mgreason.transcribe.video.backend",
    "require_video_backend": "mgreason.transcribe.video.backend",
    "video_backend_versions": "mgreason.transcribe.video.backend",
    "pose_frame_mask": "mgreason.transcribe.video.sampling",
    "interpolate_skipped": "mgreason.transcribe.video.sampling",
    "FrameReader": "mgreason.transcribe.video.reader",
    "HAND_CROP": "mgreason.transcribe.video.pose",
    "HAND_RECHECK": "mgreason.transcribe.video.pose",
    "CroppedHands": "mgreason.transcribe.video.pose",
    "hand_crop": "mgreason.transcribe.video.pose",
    "Progress": "mgreason.transcribe.video.read",
    "read_video": "mgreason.transcribe.video.read",
}

__getattr__ = lazy_exports(__name__, _LAZY)
