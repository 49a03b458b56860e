"""Where dataset files come from: one lookup order for every dataset.

1. the ``path=`` argument of ``load_data`` (a directory; files are downloaded into it when absent),
2. ``$MINICNN_DATA/<name>/``,
3. the user cache ``~/.minicnn/datasets/<name>/`` (``$MINICNN_HOME/datasets/<name>/`` when set),
4. system copies (e.g. Debian's ``dataset-fashion-mnist`` in ``/usr/share/datasets/fashion-mnist``),
5. a download from the dataset's mirrors (``$MINICNN_DATASETS_MIRROR/<name>/<file>`` first when
   that variable is set) into the user cache, verified against known checksums.

A directory counts only when it holds *every* file of the dataset, each either as published
(``.gz``) or decompressed, so two half-copies are never mixed.
"""

import dataclasses
import os

from minicnn.datasets import _download

MIRROR_ENV = "MINICNN_DATASETS_MIRROR"
DATA_ENV = "MINICNN_DATA"
HOME_ENV = "MINICNN_HOME"


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One published file and what we know to verify it."""

    name: str
    sha256: str = None  # of the bytes as served
    content_sha256: str = None  # of the gunzipped payload (survives re-compression)
    local_names: tuple = ()  # other relative paths accepted for a local copy (e.g. extracted)

    def candidates(self):
        """File names under which a local copy is accepted (published, decompressed, others)."""
        names = [self.name]
        if self.name.endswith(".gz"):
            names.append(self.name[:-3])
        return names + list(self.local_names)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything the lookup needs to know about one dataset."""

    name: str  # directory name under $MINICNN_DATA and the cache
    title: str
    files: dict  # role -> RemoteFile
    mirrors: tuple  # base URLs, tried in order
    system_dirs: tuple = ()
    homepage: str = ""
    install_hint: str = ""  # e.g. the system package that provides a copy


def cache_root():
    """``$MINICNN_HOME/datasets`` or ``~/.minicnn/datasets``."""
    home = os.environ.get(HOME_ENV)
    if home:
        return os.path.join(os.path.expanduser(home), "datasets")
    return os.path.join(os.path.expanduser("~"), ".minicnn", "datasets")


def _find_in(directory, spec):
    """{role: path} when ``directory`` holds every file of ``spec``, else None."""
    if not directory or not os.path.isdir(directory):
        return None
    found = {}
    for role, remote in spec.files.items():
        for cand in remote.candidates():
            p = os.path.join(directory, cand)
            if os.path.isfile(p):
                found[role] = p
                break
        else:
            return None
    return found


def is_available(spec, path=None):
    """True when a complete local copy of ``spec`` exists in the lookup order (no download)."""
    try:
        locate(spec, path, download=False)
    except FileNotFoundError:
        return False
    return True


def mirror_urls(spec, remote):
    """URLs to try for ``remote``: the override mirror first, then the dataset's own mirrors."""
    urls = []
    override = os.environ.get(MIRROR_ENV)
    if override:
        urls.append(f"{override.rstrip('/')}/{spec.name}/{remote.name}")
    urls += [f"{base.rstrip('/')}/{remote.name}" for base in spec.mirrors]
    return urls


def locate(spec, path=None, *, download=True):
    """Return ``{role: local file}`` for ``spec``, downloading into the cache when needed.

    Raises FileNotFoundError naming every place looked (and every download error) when no
    complete copy exists and none can be downloaded.
    """
    looked = []
    if path is not None:
        places = [("path argument", os.fspath(os.path.expanduser(path)))]
        download_dir = places[0][1]
    else:
        places = []
        data = os.environ.get(DATA_ENV)
        if data:
            places.append((f"${DATA_ENV}", os.path.join(os.path.expanduser(data), spec.name)))
        else:
            looked.append(f"${DATA_ENV}/{spec.name}/ (${DATA_ENV} is not set)")
        download_dir = os.path.join(cache_root(), spec.name)
        places.append(("user cache", download_dir))
        places += [("system copy", d) for d in spec.system_dirs]
    for label, directory in places:
        found = _find_in(directory, spec)
        if found is not None:
            return found
        looked.append(f"{directory}/ ({label})")

    errors = []
    if download:
        found = {}
        try:
            for role, remote in spec.files.items():
                dest = os.path.join(download_dir, remote.name)
                if not os.path.isfile(dest):
                    _download.download(mirror_urls(spec, remote), dest, remote)
                found[role] = dest
            return found
        except _download.ChecksumError:
            raise
        except OSError as exc:
            errors.append(str(exc))
    names = ", ".join(r.name for r in spec.files.values())
    msg = [f"{spec.title} not found and could not be downloaded.", "Looked in:"]
    msg += [f"  - {p}" for p in looked]
    if errors:
        msg.append("Download from the mirrors failed:")
        msg += ["  " + line for e in errors for line in e.splitlines()]
    msg += [
        "To get the files, either:",
        f"  - connect to the internet and call load_data() again (downloads to {download_dir}/), or",
        f"  - copy {names} (gzipped or not) into one of the directories above, e.g. "
        f"$MINICNN_DATA/{spec.name}/, or pass load_data(path=DIR),",
        f"  - or set ${MIRROR_ENV} to a mirror serving <mirror>/{spec.name}/<file>.",
    ]
    if spec.install_hint:
        msg.append(f"  - {spec.install_hint}")
    if spec.homepage:
        msg.append(f"Dataset home page: {spec.homepage}")
    raise FileNotFoundError("\n".join(msg))
