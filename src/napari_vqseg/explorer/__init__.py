"""The Robustness Explorer: Qt-free state (:mod:`.state`, :mod:`.report`) and its Qt widget (:mod:`._qt`)."""
