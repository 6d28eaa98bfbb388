"""Tiny real audio for the tests, made with the store's own ffmpeg (imageio-ffmpeg), and ways to read it back."""

import math
import subprocess
from array import array

from album_store.services.audio import ffmpeg_exe

RATE = 8000


def make_audio(path, *, seconds=4.0, kind="wav", tone=(0.0, None), frequency=440):
    """Write ``seconds`` of audio: a sine tone between ``tone`` = (start, end) seconds, silence elsewhere."""
    start, end = tone
    end = seconds if end is None else end
    expression = f"if(between(t\\,{start}\\,{end})\\,0.5*sin(2*PI*{frequency}*t)\\,0)"
    codec = {
        "wav": ["-c:a", "pcm_s16le"],
        "flac": ["-c:a", "flac"],
        "aiff": ["-c:a", "pcm_s16be", "-f", "aiff"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    }[kind]
    subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc={expression}:s=22050:d={seconds}",
            "-ac",
            "1",
            *codec,
            str(path),
        ],
        check=True,
    )
    return path


def decode(path):
    """The audio of a file as mono 8 kHz samples (ffmpeg decodes it; an error fails the test)."""
    done = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-",
        ],
        capture_output=True,
        check=True,
    )
    samples = array("h")
    samples.frombytes(done.stdout[: len(done.stdout) // 2 * 2])
    return samples


def loudness(samples, start, end):
    """RMS of the samples between ``start`` and ``end`` seconds (0 for silence, about 11,600 for the tone)."""
    part = samples[int(start * RATE) : int(end * RATE)]
    return math.sqrt(sum(s * s for s in part) / max(1, len(part)))
