"""Sliding-window FFT of images: :func:`sliding_fft`.

(The package is not called ``sliding_fft``: a subpackage of that name would
shadow the public function ``hyperspy_unmix.sliding_fft`` once imported.)
"""

from hyperspy_unmix.windowing.api import sliding_fft

__all__ = ["sliding_fft"]
