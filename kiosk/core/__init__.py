"""The domain: pure Python, no Qt, no OpenCV, no database."""
