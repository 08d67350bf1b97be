"""Helpers shared by the LDPC tests."""


class CountingDecoder:
    """Wraps a decoder and records the batch size of every call (to count decoder calls)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    def __call__(self, llr):
        self.calls.append(llr.shape[0])
        return self.inner(llr)

    def __getattr__(self, name):
        return getattr(self.inner, name)
