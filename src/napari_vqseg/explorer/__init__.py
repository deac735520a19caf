"""The Robustness Explorer: a Qt-free session (:mod:`.session`, :mod:`.settings`, :mod:`.state`,
:mod:`.layers`, :mod:`.report`) and its Qt widget (:mod:`._qt`)."""
