"""What this machine's CPU can do, for the choices that depend on it (bf16 training, the inference dtype) and for the
machine description every benchmark result carries: the same model is 1.5x faster in bf16 on one CPU and 16x
slower on another, so a figure without the instruction sets behind it cannot be compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# /proc/cpuinfo flags that decide which kernels run: AVX2 (fp32 GEMMs), AVX-512 (wider fp32), VNNI (int8 dot
# products without the u8*s8 saturation of plain AVX2), AVX-512 BF16 and AMX (native bf16 / int8 tiles).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_name() -> str:
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_isa() -> dict[str, bool]:
    """Which of ISA_FLAGS the CPU reports (all False where /proc/cpuinfo is not readable)."""
    flags: set[str] = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return {flag: flag in flags for flag in ISA_FLAGS}


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB (None where the OS does not report it): what a run needed at most,
    recorded with every trained model so that memory figures come from the run itself, not from a separate probe."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux reports KiB (macOS bytes: not supported)
    return round(kilobytes / 1024, 1)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX-512 BF16 or AMX). Elsewhere autocast emulates it: on a 2-core
    AVX2 EPYC a sample-ner step took ~18 s under bf16 against ~1.1 s in fp32, so bf16 there is refused."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: assume the slow case rather than a 16x slowdown
        return False


def has_native_bf16(device: str) -> bool:
    """Whether `device` ('cpu', 'cuda') computes bf16 natively: a GPU that supports it, or cpu_has_native_bf16()."""
    if device == "cuda":
        import torch

        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def machine_info() -> dict:
    """The description benchmark results carry: CPU model, cores, instruction sets, library versions."""
    import torch
    import transformers

    info = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "isa": cpu_isa(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_native_bf16(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return info


def _cpuinfo_lines() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
