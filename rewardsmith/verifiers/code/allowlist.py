"""The allow-list root of a run: which host paths a sandboxed program may see (read-only).

Only what running Python needs: the interpreter binary (and the symlinks leading to it, so
`sys.executable` works inside), its standard library and shared libraries, the system's
shared libraries and time zones, and the packages the user declares (`packages=["numpy"]`:
the distribution's files and, recursively, its requirements), plus `paths` the user names.
Nothing else of the host exists for the program: no home directory, no checkout or `.git`,
no dataset files, no /etc secrets, no host UNIX sockets (/run, /tmp, /var are not there).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

#: system directories of shared libraries and data the interpreter and its C modules load
SYSTEM_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/share/zoneinfo")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(slots=True)
class RootSpec:
    binds: list[str] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    missing_packages: list[str] = field(default_factory=list)

    def add(self, path: str) -> None:
        real = os.path.realpath(path)
        if os.path.exists(real) and not any(real == b or real.startswith(b + "/") for b in self.binds):
            self.binds = [b for b in self.binds if not b.startswith(real + "/")] + [real]


def _symlink_chain(path: str, spec: RootSpec) -> None:
    """Recreate the links from `path` to the real file (a venv's bin/python -> python3 -> ...)."""
    seen = 0
    current = os.path.abspath(path)
    while seen < 40:
        seen += 1
        parent = os.path.realpath(os.path.dirname(current))
        here = os.path.join(parent, os.path.basename(current))
        if not os.path.islink(here):
            spec.add(here)
            return
        target = os.readlink(here)
        spec.symlinks[here] = target
        current = target if os.path.isabs(target) else os.path.join(parent, target)


def _top_level_links(spec: RootSpec) -> None:
    """/lib -> usr/lib style links at the root (merged-/usr systems)."""
    for name in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"):
        if os.path.islink(name):
            spec.symlinks[name] = os.readlink(name)
        elif os.path.isdir(name) and name.startswith("/lib"):
            spec.add(name)


def package_paths(names: list[str]) -> tuple[list[str], list[str]]:
    """Top-level files of the distributions providing `names` (import or distribution names)
    and of their requirements, recursively. Returns (paths, names not found)."""
    from importlib import metadata

    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging ships with pip-based installs
        Requirement = None  # type: ignore[assignment,misc]
    by_import = metadata.packages_distributions()
    todo = list(names)
    seen: set[str] = set()
    paths: set[str] = set()
    missing: list[str] = []
    while todo:
        name = todo.pop()
        candidates = by_import.get(name) or [name]
        found = False
        for dist_name in candidates:
            try:
                dist = metadata.distribution(dist_name)
            except metadata.PackageNotFoundError:
                continue
            found = True
            key = (dist.metadata["Name"] or dist_name).lower().replace("_", "-")
            if key in seen:
                continue
            seen.add(key)
            base = str(dist.locate_file(""))
            for f in dist.files or []:
                top = f.parts[0] if f.parts else ""
                if top and top not in ("..", "__pycache__") and not top.endswith(".pth"):
                    paths.add(os.path.join(base, top))
            for req in dist.requires or []:
                if Requirement is None:
                    continue
                r = Requirement(req)
                if r.marker is None or r.marker.evaluate({"extra": ""}):
                    todo.append(r.name)
        if not found:
            import importlib.util

            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and spec.origin not in ("built-in", "frozen"):
                locations = list(spec.submodule_search_locations or [])
                paths.update(locations or [spec.origin])
            elif spec is None or name in names:
                missing.append(name)
    return sorted(p for p in paths if os.path.exists(p)), missing


def root_spec(packages: list[str], paths: list[str], uid_names: dict[int, str]) -> RootSpec:
    spec = RootSpec()
    bases = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    for p in sys.path:  # the standard library (and lib-dynload), not any site-packages
        real = os.path.realpath(p) if p else ""
        if any(real.startswith(b + "/") for b in bases) and "-packages" not in real:
            spec.add(real)
    lib = os.path.join(sys.base_prefix, "lib")
    if os.path.isdir(lib):  # libpython*.so next to the stdlib (pyenv, /usr/local builds)
        for name in os.listdir(lib):
            if name.startswith("libpython"):
                spec.add(os.path.join(lib, name))
    for d in SYSTEM_DIRS:
        if os.path.isdir(d):
            spec.add(d)
    _top_level_links(spec)
    spec.symlinks["/var/tmp"] = "/tmp"
    _symlink_chain(sys.executable, spec)
    cfg = os.path.join(sys.prefix, "pyvenv.cfg")
    if sys.prefix != sys.base_prefix and os.path.exists(cfg):
        spec.add(cfg)
    found, spec.missing_packages = package_paths(packages) if packages else ([], [])
    for p in [*found, *paths]:
        spec.add(p)
    users = "".join(f"{name}:x:{uid}:{uid}::/tmp:/usr/sbin/nologin\n" for uid, name in sorted(uid_names.items()))
    spec.files = {
        "/etc/passwd": ("root:x:0:0::/root:/usr/sbin/nologin\n" + users).encode(),
        "/etc/group": ("root:x:0:\n" + "".join(f"{n}:x:{u}:\n" for u, n in sorted(uid_names.items()))).encode(),
        "/etc/hosts": b"127.0.0.1 localhost\n::1 localhost\n",
        "/etc/nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files\n",
    }
    for name in ("/etc/localtime", "/etc/ld.so.cache"):
        try:
            with open(name, "rb") as f:
                spec.files[name] = f.read(1 << 20)
        except OSError:
            pass
    return spec
