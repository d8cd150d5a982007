"""MediaPipe's pose and hand models: landmarks into arrays, Holistic without its face mesh (and with gated hand
models), and MediaPipe Hands on crops around the wrists (``pose-hands``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from mgreason.transcribe.video.gate import HAND_RECHECK, HAND_VISIBILITY, POSE_HAND_POINTS

__all__ = [
    "HAND_CONFIDENCE",
    "HAND_VISIBILITY",
    "HAND_RECHECK",
    "HAND_CROP",
    "MP_STEP_US",
    "POSE_HAND_POINTS",
    "SIDE_POINTS",
    "landmarks",
    "holistic_without_face",
    "hand_crop",
    "CroppedHands",
]

HAND_CONFIDENCE = 1.0
# pose-hands: mediapipe33 indices per side (the subject's left hand is Holistic's left_hand_landmarks)
SIDE_POINTS = {"left": {"elbow": 13, "wrist": 15, "pinky": 17, "index": 19, "thumb": 21},
               "right": {"elbow": 14, "wrist": 16, "pinky": 18, "index": 20, "thumb": 22}}  # fmt: skip
HAND_CROP = 256  # pixels of the square crop handed to MediaPipe Hands
MP_STEP_US = 33333  # what mediapipe 0.10.21's SolutionBase.process adds to its timestamp per call


def landmarks(lms: Any, n: int, w: int, h: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    xy = np.full((n, 2), np.nan, dtype=np.float32)
    conf = np.zeros(n, dtype=np.float32)
    if lms is None:
        return xy, conf
    pts = lms.landmark
    for i in range(min(n, len(pts))):
        p = pts[i]
        xy[i] = (p.x * w, p.y * h)
        conf[i] = float(np.clip(p.visibility, 0.0, 1.0)) if visibility else HAND_CONFIDENCE
    return xy, conf

def holistic_without_face(mp: Any, model_complexity: int, min_det: float, min_track: float, gate_hands: bool = False) -> Any:
    """MediaPipe Holistic's own graph without its face-mesh branch (468 face landmarks nobody here uses):
    the same pose and hand landmarks, bit for bit (checked in the tests), less CPU per frame
    (``benchmarks/results/video.md``). With ``gate_hands`` the pose landmarks reach the hand models only
    when the input stream ``allow_hands`` is true (a ``GateCalculator``), so the caller can skip the hand
    models on frames where no hand can be seen. ``None`` when this mediapipe's graph does not look as
    expected (then the stock Holistic is used)."""
    try:
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase

        graph = Path(mp.__file__).parent / "modules" / "holistic_landmark" / "holistic_landmark_cpu.binarypb"
        cfg = calculator_pb2.CalculatorGraphConfig()
        cfg.ParseFromString(graph.read_bytes())
        face = [n for n in cfg.node if n.calculator == "FaceLandmarksFromPoseCpu"]
        split = [n for n in cfg.node if n.calculator == "SplitNormalizedLandmarkListCalculator"
                 and list(n.output_stream) == ["face_landmarks_from_pose"]]  # fmt: skip
        if len(face) != 1 or len(split) != 1 or len(cfg.node) != 4:
            return None
        keep = [n for n in cfg.node if n is not face[0] and n is not split[0]]
        del cfg.node[:]
        cfg.node.extend(keep)
        outs = [o for o in cfg.output_stream if not o.startswith("FACE_LANDMARKS:")]
        del cfg.output_stream[:]
        cfg.output_stream.extend(outs)
        sides = [x for x in cfg.input_side_packet if not x.startswith("REFINE_FACE_LANDMARKS:")]
        del cfg.input_side_packet[:]
        cfg.input_side_packet.extend(sides)
        if gate_hands:
            hands = [n for n in cfg.node if n.calculator == "HandLandmarksLeftAndRightCpu"]
            if len(hands) != 1 or list(hands[0].input_stream) != ["IMAGE:image", "POSE_LANDMARKS:pose_landmarks"]:
                return None
            cfg.input_stream.append("ALLOW_HANDS:allow_hands")
            gate = cfg.node.add()
            gate.calculator = "GateCalculator"
            gate.input_stream.extend(["pose_landmarks", "ALLOW:allow_hands"])
            gate.output_stream.append("pose_landmarks_for_hands")
            del hands[0].input_stream[:]
            hands[0].input_stream.extend(["IMAGE:image", "POSE_LANDMARKS:pose_landmarks_for_hands"])
        return SolutionBase(
            graph_config=cfg,
            side_inputs={
                "model_complexity": model_complexity,
                "smooth_landmarks": True,
                "enable_segmentation": False,
                "smooth_segmentation": True,
                "use_prev_landmarks": True,
            },
            calculator_params={
                "poselandmarkcpu__posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": min_det,
                "poselandmarkcpu__poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator"
                ".threshold": min_track,
            },
            outputs=["pose_landmarks", "left_hand_landmarks", "right_hand_landmarks"],
        )
    except Exception:  # any other mediapipe build: fall back to the stock solution
        return None

def hand_crop(pxy: np.ndarray, pc: np.ndarray, side: str, shape: tuple[int, int]) -> Optional[tuple[float, float, float]]:
    """``(cx, cy, size)`` of the square (pixels of the image of ``shape`` = (h, w)) around one hand, from the
    pose landmarks ``pxy`` / ``pc`` (mediapipe33, same pixels), or ``None`` when the pose has no wrist there.

    Centred on the knuckles (the mean of the pose's index and pinky points; the wrist when they are
    missing); the side is twice the hand's length, estimated as the larger of 2x wrist-knuckles and
    0.6x the forearm (the finger points are coarse), at least 48 pixels. A crop that lies entirely outside
    the image is ``None``."""
    k = SIDE_POINTS[side]
    if pc[k["wrist"]] <= 0 or not np.isfinite(pxy[k["wrist"]]).all():
        return None
    wrist = pxy[k["wrist"]].astype(np.float64)
    fingers = [pxy[k[n]] for n in ("index", "pinky") if pc[k[n]] > 0 and np.isfinite(pxy[k[n]]).all()]
    knuckles = np.mean(fingers, axis=0) if fingers else wrist
    hand_len = 2.0 * float(np.linalg.norm(knuckles - wrist))
    if pc[k["elbow"]] > 0 and np.isfinite(pxy[k["elbow"]]).all():
        hand_len = max(hand_len, 0.6 * float(np.linalg.norm(wrist - pxy[k["elbow"]])))
    size = max(48.0, 2.0 * hand_len)
    cx, cy = float(knuckles[0]), float(knuckles[1])
    h, w = shape
    if cx + size / 2 < 0 or cy + size / 2 < 0 or cx - size / 2 > w or cy - size / 2 > h:
        return None
    return cx, cy, size

class CroppedHands:
    """MediaPipe Hands on crops around the wrists that MediaPipe Pose found (``--video-model pose-hands``).

    One ``Hands`` tracker per side (``max_num_hands=1``, so a hand found in the left crop *is* the left
    hand, as in Holistic), fed a :data:`HAND_CROP`-pixel square (:func:`hand_crop`, zero padding beyond
    the image) and tracking from call to call (palm detection only when the hand is lost). A found hand
    whose wrist lies farther than a third of the crop from the pose's wrist (the other hand, in a crop
    where both hands meet) is dropped. Landmarks come back in the pixels of the image given."""

    def __init__(self, mp: Any, cv2: Any, model_complexity: int, min_det: float, min_track: float):
        self.cv2 = cv2
        self.models = {
            side: mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=1, model_complexity=model_complexity,
                                           min_detection_confidence=min_det, min_tracking_confidence=min_track)
            for side in ("left", "right")
        }  # fmt: skip
        self.found = {"left": False, "right": False}
        self.calls = 0
        self.frames = 0  # processed frames where at least one hand model ran

    def close(self) -> None:
        for m in self.models.values():
            m.close()

    def wanted(self, side: str, pc: np.ndarray, gate: bool, recheck: bool) -> bool:
        """Run this side's hand model? Always when not ``gate``; else when the pose sees one of the side's
        hand points with visibility >= :data:`HAND_VISIBILITY`, the hand was found on the previous
        processed frame, or on a recheck frame."""
        if not gate or recheck or self.found[side]:
            return True
        k = SIDE_POINTS[side]
        return max(pc[k[n]] for n in ("wrist", "pinky", "index", "thumb")) >= HAND_VISIBILITY

    def process(
        self, rgb: np.ndarray, pxy: np.ndarray, pc: np.ndarray, ts_us: Optional[int], gate: bool, recheck: bool
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        cv2 = self.cv2
        h, w = rgb.shape[:2]
        out = {}
        ran = False
        for side, model in self.models.items():
            xy = np.full((21, 2), np.nan, dtype=np.float32)
            conf = np.zeros(21, dtype=np.float32)
            out[side] = (xy, conf)
            box = hand_crop(pxy, pc, side, (h, w)) if pc.any() else None
            if box is None or not self.wanted(side, pc, gate, recheck):
                self.found[side] = False
                continue
            cx, cy, size = box
            s = HAND_CROP / size  # crop pixels per image pixel
            M = np.array([[s, 0.0, HAND_CROP / 2 - s * cx], [0.0, s, HAND_CROP / 2 - s * cy]], dtype=np.float64)
            crop = cv2.warpAffine(rgb, M, (HAND_CROP, HAND_CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            if ts_us is not None and isinstance(getattr(model, "_simulated_timestamp", None), int):
                model._simulated_timestamp = max(ts_us, model._simulated_timestamp + 1) - MP_STEP_US
            res = model.process(crop)
            self.calls += 1
            ran = True
            hands = getattr(res, "multi_hand_landmarks", None)
            found = False
            if hands:
                lm = hands[0].landmark
                pts = np.array([(p.x * HAND_CROP, p.y * HAND_CROP) for p in lm[:21]], dtype=np.float64)
                pts = (pts - HAND_CROP / 2) / s + (cx, cy)  # back to image pixels
                wrist = pxy[SIDE_POINTS[side]["wrist"]]
                if np.linalg.norm(pts[0] - wrist) <= size / 3:
                    xy[:] = pts
                    conf[:] = HAND_CONFIDENCE
                    found = True
            self.found[side] = found
        self.frames += ran
        return out
