# wakatime 13.1.0 bundles a urllib3 that imports collections.Mapping & co., removed in Python 3.10.
# Putting this folder on PYTHONPATH aliases them back; the client itself stays unchanged.
import collections, collections.abc
for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Set", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
