"""The library's way in: :class:`Companion` (async) and :class:`BlockingCompanion`.

Users import them from the top of the package (``from companion import Companion``);
these modules may move, those names stay.
"""
