"""The catalogue of presets: name → factory, imported only when used.

Each factory takes keyword-only options with defaults; `rewardsmith list` shows them, and a
SPEC such as `name:key=value` passes them. Add a preset by adding one line here.
"""

from __future__ import annotations

from rewardsmith.core.spec import registry

_PRESETS = [
    ("exact", "rewardsmith.verifiers.exact:exact", "normalized string match of the completion against `answer`"),
    ("regex", "rewardsmith.verifiers.format:regex", "1.0 when the completion matches a regular expression"),
]

for _name, _target, _summary in _PRESETS:
    registry.add(_name, _target, _summary)
