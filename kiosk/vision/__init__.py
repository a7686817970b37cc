"""Camera and QR decoding: frame sources, decoder backends, the decode pipeline,
image diagnostics and the scan loop. No Qt and no database here (see docs/vision.md).

The gate and the window use::

    from kiosk.vision import ScanLoop, ScanEvent, CameraEvent, DiagnosticEvent
    loop = ScanLoop.from_spec(camera_spec, decoder="auto", on_event=handle)
    loop.start(); ...; loop.stop()
"""

from __future__ import annotations

from kiosk.vision.decoders import Code, Decoder, get_decoder
from kiosk.vision.diagnostics import Diagnostic, message
from kiosk.vision.health import CameraEvent, HealthPolicy
from kiosk.vision.pipeline import DecodeResult, Pipeline
from kiosk.vision.repeat import RepeatFilter
from kiosk.vision.scanloop import DiagnosticEvent, Event, FrameEvent, ScanEvent, ScanLoop
from kiosk.vision.sources import Frame, FrameSource, list_cameras, open_source

__all__ = [
    "CameraEvent",
    "Code",
    "DecodeResult",
    "Decoder",
    "Diagnostic",
    "DiagnosticEvent",
    "Event",
    "Frame",
    "FrameEvent",
    "FrameSource",
    "HealthPolicy",
    "Pipeline",
    "RepeatFilter",
    "ScanEvent",
    "ScanLoop",
    "get_decoder",
    "list_cameras",
    "message",
    "open_source",
]
